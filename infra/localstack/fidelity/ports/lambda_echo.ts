/** Port of LocalStack's test handler `lambda_echo.py`: logs the event and returns it. */
export const handler = async (event: unknown) => {
  console.log(JSON.stringify(event));
  return event;
};
