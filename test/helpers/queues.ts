/** A queue with a dead-letter queue per test (LocalStack keeps state: unique names). */
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { sqs, uniqueSuffix } from './aws.ts';

export interface TestQueue {
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** Messages in the queue, visible and in flight (LocalStack's counts are exact). */
  depth(): Promise<{ visible: number; inFlight: number }>;
  remove(): Promise<void>;
}

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
