/**
 * Port of LocalStack's test handler `lambda_echo_version_env.py`: logs the function version, the
 * `CUSTOM_VAR` variable and the event (tests read the log to see which version ran), returns the event.
 */
import { print } from './print.ts';

export const handler = async (event: unknown) => {
  print(
    JSON.stringify({
      function_version: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? null,
      CUSTOM_VAR: process.env.CUSTOM_VAR ?? null,
      event,
    }),
  );
  return event;
};
