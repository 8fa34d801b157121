/** SDK clients for LocalStack, as the tests use them: real clients, loopback endpoint. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCALSTACK_ENDPOINT } from '../../infra/localstack/localstack.ts';

export const localConfig = {
  endpoint: LOCALSTACK_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};

export const lambda = new LambdaClient({ ...localConfig, maxAttempts: 1 });
export const dynamodb = new DynamoDBClient({ ...localConfig, maxAttempts: 1 });
export const sqs = new SQSClient(localConfig);
export const logs = new CloudWatchLogsClient(localConfig);
export const cloudformation = new CloudFormationClient(localConfig);

/** The smoke stack's resource names for stage `local` (see serverless.yml). */
export const smokeStack = {
  table: 'fnmesh-local-mesh',
  queue: 'fnmesh-local-smoke',
  deadLetterQueue: 'fnmesh-local-smoke-dlq',
  ping: 'fnmesh-local-ping',
  record: 'fnmesh-local-record',
};

/** A short unique suffix so that tests never collide with earlier runs (LocalStack keeps state). */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
