/**
 * The library's call counter (lib/faults/callCounter.ts, exported by lib/index.ts): every attempt
 * on the wire is counted by `Service.Operation`, and so is every attempt the service refused for a
 * transaction conflict or for throttling. The answers come from a fake HTTP handler, as DynamoDB
 * and SQS send them (JSON 1.0), so they go through the SDK's own deserializer and retry strategy.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CallCounter, refusalOf } from '../../lib/index.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const ok: Answer = { status: 200, body: {} };
const error = (type: string, extra: Record<string, unknown> = {}): Answer => ({
  status: 400,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type, ...extra },
});
const cancelled = (...codes: string[]): Answer =>
  error('TransactionCanceledException', {
    Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

/** A DynamoDB client whose requests get `answers`, one per attempt, then 200s. */
function fakeDynamo(answers: Answer[]): DynamoDBClient {
  const queue = [...answers];
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
    requestHandler: {
      async handle() {
        const answer = queue.shift() ?? ok;
        return {
          response: {
            statusCode: answer.status,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
          },
        };
      },
    } as never,
  });
}

const transaction: TransactWriteItemsCommandInput = {
  TransactItems: [
    { Put: { TableName: 't', Item: { pk: { S: 'a' }, sk: { S: 'b' } } } },
    {
      Update: {
        TableName: 't',
        Key: { pk: { S: 'a' }, sk: { S: 'c' } },
        UpdateExpression: 'ADD n :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      },
    },
  ],
};

describe('CallCounter', () => {
  it('counts transactions cancelled for a conflict or for throttling, and not those refused by a condition', async () => {
    const counter = new CallCounter();
    const client = counter.attach(
      fakeDynamo([
        cancelled('None', 'TransactionConflict'),
        cancelled('ThrottlingError', 'None'),
        cancelled('ConditionalCheckFailed', 'None'),
      ]),
      'DynamoDB',
    );
    for (let i = 0; i < 4; i++) await client.send(new TransactWriteItemsCommand(transaction)).catch(() => undefined);
    expect(counter.tally()).toEqual({ 'DynamoDB.TransactWriteItems': { attempts: 4, conflicts: 1, throttled: 1 } });
    expect(counter.snapshot()).toEqual({ 'DynamoDB.TransactWriteItems': 4 });
    expect([counter.total(), counter.conflicts('DynamoDB'), counter.throttled('DynamoDB'), counter.conflicts('SQS')]).toEqual([4, 1, 1, 0]);
  });

  it("counts every attempt of the SDK's own retries, each refusal once", async () => {
    const counter = new CallCounter();
    // ThrottlingException and TransactionInProgressException are retried by the SDK (3 attempts here).
    const client = counter.attach(
      fakeDynamo([error('ThrottlingException'), error('ProvisionedThroughputExceededException'), error('TransactionConflictException')]),
      'DynamoDB',
    );
    await expect(client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' }, sk: { S: 'b' } } }))).rejects.toMatchObject({
      name: 'TransactionConflictException',
    });
    const retried = counter.attach(fakeDynamo([error('TransactionInProgressException')]), 'DynamoDB');
    await retried.send(new TransactWriteItemsCommand(transaction));
    await retried.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }));
    expect(counter.tally()).toEqual({
      'DynamoDB.GetItem': { attempts: 1, conflicts: 0, throttled: 0 },
      'DynamoDB.PutItem': { attempts: 3, conflicts: 1, throttled: 2 },
      'DynamoDB.TransactWriteItems': { attempts: 2, conflicts: 1, throttled: 0 },
    });
    counter.reset();
    expect(counter.tally()).toEqual({});
  });

  it('attaches to any SDK v3 client, counting its calls under the service name it is given', async () => {
    const counter = new CallCounter();
    const dynamodb = counter.attach(fakeDynamo([]), 'DynamoDB');
    const sqs = counter.attach(
      new SQSClient({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        requestHandler: {
          async handle() {
            return {
              response: {
                statusCode: 200,
                headers: { 'content-type': 'application/x-amz-json-1.0' },
                body: Readable.from([Buffer.from(JSON.stringify({ QueueUrl: 'http://127.0.0.1:9/000000000000/q' }))]),
              },
            };
          },
        } as never,
      }),
      'SQS',
    );
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'q' }))).QueueUrl).toBe('http://127.0.0.1:9/000000000000/q');
    await sqs.send(new GetQueueUrlCommand({ QueueName: 'q' }));
    await dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }));
    expect(counter.snapshot()).toEqual({ 'SQS.GetQueueUrl': 2, 'DynamoDB.GetItem': 1 });
    expect([counter.total('SQS'), counter.total('DynamoDB'), counter.total()]).toEqual([2, 1, 3]);
  });

  it('classifies refusals by name and cancellation reasons', () => {
    const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name }, extra);
    expect(refusalOf(named('TransactionConflictException'))).toBe('conflict');
    expect(refusalOf(named('TransactionInProgressException'))).toBe('conflict');
    expect(refusalOf(named('ThrottlingException'))).toBe('throttled');
    expect(refusalOf(named('ProvisionedThroughputExceededException'))).toBe('throttled');
    expect(refusalOf(named('TooManyRequestsException'))).toBe('throttled');
    const reasons = (...codes: string[]) => ({ CancellationReasons: codes.map((Code) => ({ Code })) });
    expect(refusalOf(named('TransactionCanceledException', reasons('None', 'TransactionConflict')))).toBe('conflict');
    expect(refusalOf(named('TransactionCanceledException', reasons('TransactionConflict', 'ThrottlingError')))).toBe('throttled');
    expect(refusalOf(named('TransactionCanceledException', reasons('ConditionalCheckFailed', 'TransactionConflict')))).toBe('conflict');
    expect(refusalOf(named('TransactionCanceledException', reasons('ConditionalCheckFailed', 'None')))).toBeUndefined();
    expect(refusalOf(named('ConditionalCheckFailedException'))).toBeUndefined();
    expect(refusalOf('TransactionConflictException')).toBeUndefined();
  });
});
