/**
 * The local cloud's FIFO queues as AWS's (infra/localstack/plugin/fnmesh_localstack/sqs_fifo.py):
 * a message group stays blocked while any of its messages is in flight, even when a later one is
 * handed back first. Raw SDK calls only.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { createQueue, sqs, type TestQueue } from '../../infra/localstack/resources.ts';

const queues: TestQueue[] = [];

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.remove()));
});

describe('SQS FIFO queues', () => {
  it('keep a message group blocked while a message of it is in flight, though a later one was handed back', async () => {
    const queue = await createQueue('fifo-group', { fifo: true, visibilityTimeout: 30 });
    queues.push(queue);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.queueUrl,
        Entries: ['first', 'second'].map((body) => ({ Id: body, MessageBody: body, MessageGroupId: 'g', MessageDeduplicationId: body })),
      }),
    );
    const receive = async () =>
      (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))).Messages ?? [];

    const [first, second] = await receive();
    expect([first?.Body, second?.Body]).toEqual(['first', 'second']);
    // The later message is handed back; the first is still in flight: nothing of the group comes.
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: second!.ReceiptHandle!, VisibilityTimeout: 0 }),
    );
    expect(await receive()).toEqual([]);
    // Once the first is done, the group goes on, in order.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: first!.ReceiptHandle! }));
    expect((await receive()).map((message) => message.Body)).toEqual(['second']);
  });
});
