/**
 * counter: the seed's Counter, incremented by many workers. Each invocation does `increments`
 * read-modify-write steps on one counter item, each under the distributed Mutex with its write
 * fenced — so W concurrent invocations × N increments give exactly W×N.
 *
 * `unsafe: true` reproduces the seed's mistake: the counter is guarded by three different locks
 * (worker i takes lock i mod 3), and writes are not fenced, so increments are lost.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { check, describeIssues, fencedUpdate, InvalidInputError, Mutex } from 'fnmesh';
import { z } from 'zod';
import { exampleKeys } from '../../lib/table/layout.ts';
import { dynamodb, tableName, tracer } from '../shared/clients.ts';
import { invocationLogsField, currentTrace, withMesh } from '../shared/withMesh.ts';

export const counterEvent = z
  .object({
    counter: z.string().min(1).max(200),
    increments: z.number().int().min(1).max(10_000),
    worker: z.number().int().min(0).default(0),
    unsafe: z.boolean().default(false),
  })
  .passthrough();

async function read(counter: string): Promise<number> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: exampleKeys.counter(counter), ConsistentRead: true }),
  );
  return Number(Item?.value?.N ?? 0);
}

async function increment(event: unknown, context: Context) {
  const parsed = await check(counterEvent, event);
  if (!parsed.ok) throw new InvalidInputError('event', describeIssues(parsed.issues));
  const { counter, increments, worker, unsafe } = parsed.value;
  const lockName = unsafe ? `${counter}-lock-${worker % 3}` : `${counter}-lock`;
  const mutex = new Mutex({
    client: dynamodb,
    tableName,
    name: lockName,
    owner: context.awsRequestId,
    leaseMs: 5000,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  const startedAt = Date.now();
  let lastFence = 0;
  for (let i = 0; i < increments; i++) {
    const held = await mutex.lock();
    try {
      const value = await read(counter);
      if (unsafe) {
        await dynamodb.send(
          new PutItemCommand({ TableName: tableName, Item: { ...exampleKeys.counter(counter), value: { N: String(value + 1) } } }),
        );
      } else {
        await fencedUpdate(
          dynamodb,
          {
            TableName: tableName,
            Key: exampleKeys.counter(counter),
            UpdateExpression: 'SET #value = :next',
            ExpressionAttributeNames: { '#value': 'value' },
            ExpressionAttributeValues: { ':next': { N: String(value + 1) } },
          },
          held.fence,
        );
      }
      lastFence = held.fence;
    } finally {
      await held.unlock();
    }
  }
  const trace = currentTrace();
  if (trace) {
    await tracer.record({
      traceId: trace.traceId,
      parent: trace.parent ?? null,
      kind: 'lock',
      name: `lock ${lockName}`,
      startedAt,
      endedAt: Date.now(),
      detail: { acquisitions: increments, lastFence },
      ...invocationLogsField(),
    });
  }
  return { counter, worker, increments, lock: lockName, lastFence };
}

export const handler = withMesh(increment, { tracer });
