/**
 * The service, deployed to the local cloud (test/globalSetup.ts): each function invoked for real,
 * through Lambda, and its effects read back from DynamoDB and the channel's ledger.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { Channel } from 'fnmesh';
import { describe, expect, it } from 'vitest';
import { dynamodb, eventually, invoke, jobsQueueName, sqs, tableName } from './cloud.ts';

const run = randomUUID().slice(0, 8);

describe('counter', () => {
  it('counts every increment of concurrent invocations: the Mutex serializes them', async () => {
    // Prepare
    const counter = `test-${run}`;

    // Act
    const results = await Promise.all(Array.from({ length: 5 }, () => invoke('counter', { counter })));

    // Assess
    for (const result of results) expect(result.error, JSON.stringify(result.body)).toBeUndefined();
    expect(results.map((result) => result.body.value).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(results.map((result) => result.body.fence)).size).toBe(5);
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: `counter#${counter}` }, sk: { S: 'counter' } }, ConsistentRead: true }),
    );
    expect(Item?.value?.N).toBe('5');
  });

  it('refuses an event without a counter name, with a typed error', async () => {
    const result = await invoke('counter', {});

    expect(result.error).toBe('Unhandled');
    expect(result.body.errorType).toBe('InvalidInputError');
  });
});

describe('submit and worker: the jobs channel', () => {
  it('hands every job sent to the worker, which writes its result once', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: jobsQueueName }));
    const channel = new Channel({ sqs, dynamodb, tableName, name: 'jobs', queueUrl: QueueUrl! });
    const before = await channel.status();
    const jobs = [
      { id: `${run}-a`, text: 'one' },
      { id: `${run}-b`, text: 'one two' },
      { id: `${run}-c`, text: 'one two three' },
    ];

    // Act
    const submitted = await invoke('submit', { jobs });

    // Assess
    expect(submitted.error, JSON.stringify(submitted.body)).toBeUndefined();
    expect(submitted.body.sent).toHaveLength(3);
    const words = await eventually(async () => {
      const items = await Promise.all(
        jobs.map(({ id }) =>
          dynamodb.send(
            new GetItemCommand({ TableName: tableName, Key: { pk: { S: `job#${id}` }, sk: { S: 'result' } }, ConsistentRead: true }),
          ),
        ),
      );
      return items.every(({ Item }) => Item) ? items.map(({ Item }) => Number(Item!.words!.N)) : undefined;
    });
    expect(words).toEqual([1, 2, 3]);
    // Each job counted out of the channel once: received by the worker, none left queued.
    const after = await eventually(async () => {
      const status = await channel.status();
      return status.received - before.received >= 3 ? status : undefined;
    });
    expect(after.received - before.received).toBe(3);
    expect(after.sent - before.sent).toBe(3);
  });

  it('reports a message that is not one of the channel’s envelopes as a batch item failure (events/worker.json)', async () => {
    const event = JSON.parse(readFileSync(new URL('../events/worker.json', import.meta.url), 'utf8'));

    const result = await invoke('worker', event);

    expect(result.error, JSON.stringify(result.body)).toBeUndefined();
    expect(result.body).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
  });
});
