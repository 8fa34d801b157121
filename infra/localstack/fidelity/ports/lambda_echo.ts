/** Port of LocalStack's test handler `lambda_echo.py`: logs the event and returns it. */
import { print } from './print.ts';

export const handler = async (event: unknown) => {
  print(JSON.stringify(event));
  return event;
};
