/**
 * What the benchmarks, the chaos runs and the tests share on the project's LocalStack: one set of
 * SDK clients (built from clients.ts; no SDK retries on DynamoDB and Lambda, so that a fault
 * shows), and throwaway resources under unique names (LocalStack keeps state between runs): mesh
 * tables with the key schema of infra/resources/table.yml, queues with a dead-letter queue.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localConfig } from './clients.ts';

export const lambda = new LambdaClient({ ...localConfig, maxAttempts: 1 });
export const dynamodb = new DynamoDBClient({ ...localConfig, maxAttempts: 1 });
export const sqs = new SQSClient(localConfig);
export const logs = new CloudWatchLogsClient(localConfig);
export const cloudformation = new CloudFormationClient(localConfig);

/** A short unique suffix so that names never collide with earlier runs (LocalStack keeps state). */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A fresh mesh table, `fnmesh-test-<prefix>-<unique suffix>`. */
export async function createMeshTable(prefix: string): Promise<string> {
  return createMeshTableNamed(`fnmesh-test-${prefix}-${uniqueSuffix()}`);
}

/** A mesh table of this name, through `client` (another LocalStack's, say). */
export async function createMeshTableNamed(tableName: string, client: DynamoDBClient = dynamodb): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  return tableName;
}

export async function deleteMeshTable(tableName: string): Promise<void> {
  await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
}

/** A throwaway queue and its dead-letter queue. */
export interface TestQueue {
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** Messages in the queue, visible and in flight (LocalStack's counts are exact). */
  depth(): Promise<{ visible: number; inFlight: number }>;
  remove(): Promise<void>;
}

/** A fresh queue `fnmesh-test-<prefix>-<unique suffix>` redriving to its own dead-letter queue. */
export async function createQueue(
  prefix: string,
  options: { fifo?: boolean; visibilityTimeout?: number; maxReceiveCount?: number } = {},
): Promise<TestQueue> {
  const base = `fnmesh-test-${prefix}-${uniqueSuffix()}`;
  const fifo = options.fifo ? { FifoQueue: 'true' } : {};
  const suffix = options.fifo ? '.fifo' : '';
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq${suffix}`, Attributes: { ...fifo } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${base}${suffix}`,
      Attributes: {
        ...fifo,
        VisibilityTimeout: String(options.visibilityTimeout ?? 5),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
      },
    }),
  );
  return {
    queueUrl: queue.QueueUrl!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    depth: async () => {
      const { Attributes: counts = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.QueueUrl!,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return { visible: Number(counts.ApproximateNumberOfMessages), inFlight: Number(counts.ApproximateNumberOfMessagesNotVisible) };
    },
    remove: async () => {
      await Promise.allSettled([queue.QueueUrl, dlq.QueueUrl].map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url! }))));
    },
  };
}
