/** Port of LocalStack's test handler `lambda_unhandled_error.py`: always fails with a custom error type. */
class CustomException extends Error {
  override name = 'CustomException';
}

export const handler = async () => {
  throw new CustomException('some error occurred');
};
