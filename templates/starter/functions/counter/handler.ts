/**
 * counter: increments a named counter, a read-modify-write under fnmesh's distributed Mutex (Go's
 * `sync.Mutex` as a lease on the mesh table), so concurrent invocations never lose an update.
 * The write carries the lock's fencing token (`fencedUpdate`): a holder that stalled past its
 * lease, while another took the lock over, has its late write refused.
 *
 *   in   { "counter": "visits" }
 *   out  { "counter": "visits", "value": 1, "fence": 1 }
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { check, describeIssues, fencedUpdate, InvalidInputError, Mutex, type Schema } from 'fnmesh';
import { dynamodb, tableName } from '../shared/env.ts';

export interface CounterEvent {
  counter: string;
}

const counterEvent: Schema<CounterEvent> = {
  '~standard': {
    version: 1,
    vendor: 'starter',
    validate(value) {
      const counter = (value as Partial<CounterEvent> | null)?.counter;
      if (typeof counter === 'string' && /^[\w.-]{1,100}$/.test(counter)) return { value: { counter } };
      return { issues: [{ path: ['counter'], message: 'expected 1-100 letters, digits, _ . or -' }] };
    },
  },
};

const counterKey = (counter: string) => ({ pk: { S: `counter#${counter}` }, sk: { S: 'counter' } });

export async function handler(event: unknown, context: Context) {
  const parsed = await check(counterEvent, event);
  if (!parsed.ok) throw new InvalidInputError('event', describeIssues(parsed.issues));
  const { counter } = parsed.value;

  const mutex = new Mutex({
    client: dynamodb,
    tableName,
    name: `counter-${counter}`,
    owner: context.awsRequestId,
    // The lease is renewed while held, and never outlives this invocation.
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  // Go: mu.Lock(); defer mu.Unlock()
  await using held = await mutex.lock();
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: counterKey(counter), ConsistentRead: true }));
  const value = Number(Item?.value?.N ?? 0) + 1;
  await fencedUpdate(
    dynamodb,
    {
      TableName: tableName,
      Key: counterKey(counter),
      UpdateExpression: 'SET #value = :value',
      ExpressionAttributeNames: { '#value': 'value' },
      ExpressionAttributeValues: { ':value': { N: String(value) } },
    },
    held.fence,
  );
  return { counter, value, fence: held.fence };
}
