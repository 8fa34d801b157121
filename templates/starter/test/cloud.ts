/**
 * The tests' view of the local cloud: SDK clients pointed at fnmesh's LocalStack (never at real
 * AWS), and this service's deployed names (stage local).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';

export const service = '{{name}}';
export const stage = 'local';

const config = {
  endpoint: `http://127.0.0.1:${process.env.FNMESH_LOCALSTACK_PORT || 4566}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
export const dynamodb = new DynamoDBClient(config);
export const sqs = new SQSClient(config);
export const lambda = new LambdaClient(config);

export const tableName = `${service}-${stage}-mesh`;
export const jobsQueueName = `${service}-${stage}-jobs`;

export interface Invocation {
  /** Lambda's FunctionError (`Unhandled` when the handler threw), if any. */
  error: string | undefined;
  /** The handler's result, or the error it threw (`errorType`, `errorMessage`). */
  body: any;
}

/** Invokes one of this service's functions, synchronously, as `serverless invoke` does. */
export async function invoke(fn: string, payload: unknown): Promise<Invocation> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: `${service}-${stage}-${fn}`, Payload: JSON.stringify(payload) }));
  const text = new TextDecoder().decode(out.Payload);
  return { error: out.FunctionError, body: text ? JSON.parse(text) : undefined };
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not there after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
