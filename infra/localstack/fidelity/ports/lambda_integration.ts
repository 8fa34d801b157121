/**
 * Port of the parts of LocalStack's test handler `lambda_integration.py` that the ported suites use:
 * it logs a line, fails when the event has `raise_error`, and otherwise answers the event with the
 * invocation context. (Its API Gateway, SQS-batch-delete and Kinesis-forwarding branches are not
 * ported: an event that needs them fails loudly rather than passing for the wrong reason.)
 */
import type { Context } from 'aws-lambda';
import { print } from './print.ts';

export const handler = async (event: Record<string, unknown>, context: Context) => {
  print('Lambda log message - print function');
  print('Lambda log message - logging module');
  if ('raise_error' in event) throw new Error('Test exception (this is intentional)');
  if ('httpMethod' in event || 'delete_batch_test' in event || 'Records' in event)
    throw new Error('fnmesh fidelity port: this branch of lambda_integration.py is not ported');
  return {
    event,
    context: {
      invoked_function_arn: context.invokedFunctionArn,
      function_version: context.functionVersion,
      function_name: context.functionName,
      memory_limit_in_mb: context.memoryLimitInMB,
      aws_request_id: context.awsRequestId,
      log_group_name: context.logGroupName,
      log_stream_name: context.logStreamName,
      client_context: context.clientContext ?? null,
    },
  };
};
