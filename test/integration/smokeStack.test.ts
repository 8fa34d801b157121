/**
 * The smoke stack of serverless.yml, deployed by the global setup with `serverless deploy
 * --stage local` (test/integration/stackSetup.ts): every function invoked through the CLI with its sample event, and the SQS
 * path end to end (queue → event source mapping → function → DynamoDB, and the DLQ).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { dynamodb, sqs, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { eventually } from '../helpers/eventually.ts';
import { smokeStack, useTheStack } from '../helpers/stack.ts';
import { serverless } from '../../infra/serverless/cli.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

async function queueUrl(name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  return QueueUrl!;
}

async function smokeItem(id: string) {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: smokeStack.table, Key: { pk: { S: `smoke#${id}` }, sk: { S: 'record' } }, ConsistentRead: true }),
  );
  return Item;
}

describe('smoke stack', () => {
  describe('serverless invoke --stage local --path events/<fn>.json', () => {
    it('invokes ping with events/ping.json', async () => {
      const result = await serverless(['invoke', '-f', 'ping', '--stage', 'local', '--path', 'events/ping.json']);

      expect(result.code, result.stderr).toBe(0);
      const body = JSON.parse(result.stdout);
      expect(body).toMatchObject({ pong: true, message: 'hello from events/ping.json', functionName: smokeStack.ping });
    });

    it('invokes record with events/record.json and both records land in the table', async () => {
      const result = await serverless(['invoke', '-f', 'record', '--stage', 'local', '--path', 'events/record.json']);

      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [] });
      expect((await smokeItem('sample-1'))?.value).toEqual({ S: 'hello' });
      expect((await smokeItem('sample-2'))?.value).toEqual({ S: 'world' });
    });

    it('reports bad input to ping as a typed error', async () => {
      const result = await serverless(['invoke', '-f', 'ping', '--stage', 'local', '--data', '{"message": 42}']);

      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/InvalidInputError/);
      expect(result.stdout + result.stderr).toMatch(/invalid input at event\.message: expected a string, got number/);
    });
  });

  describe('the SQS-triggered function', () => {
    it('receives a message from the queue and its effect shows in DynamoDB', async () => {
      const id = uniqueSuffix();

      await sqs.send(
        new SendMessageCommand({ QueueUrl: await queueUrl(smokeStack.queue), MessageBody: JSON.stringify({ id, value: 'via sqs' }) }),
      );

      const item = await eventually(() => smokeItem(id), `item smoke#${id}`);
      expect(item.value).toEqual({ S: 'via sqs' });
      expect(item.receiveCount).toEqual({ N: '1' });
    });

    it('moves a failing message to the dead-letter queue after maxReceiveCount, and keeps the good ones', async () => {
      const bad = uniqueSuffix();
      const good = uniqueSuffix();
      const url = await queueUrl(smokeStack.queue);
      const dlqUrl = await queueUrl(smokeStack.deadLetterQueue);
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }));
      const { maxReceiveCount } = JSON.parse(Attributes!.RedrivePolicy!);

      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ id: bad, value: 'x', fail: true }) }));
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ id: good, value: 'fine' }) }));

      const dead = await eventually(
        async () => {
          const { Messages } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: dlqUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
              MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            }),
          );
          return Messages?.find((message) => JSON.parse(message.Body!).id === bad);
        },
        'the failing message in the DLQ',
        90_000,
      );
      expect(JSON.parse(dead.Body!)).toEqual({ id: bad, value: 'x', fail: true });
      expect(maxReceiveCount).toBe(3);
      expect(await smokeItem(bad)).toBeUndefined();
      expect((await smokeItem(good))?.value).toEqual({ S: 'fine' });
    });
  });
});
