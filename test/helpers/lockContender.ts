/**
 * A lock contender in its own process: `node --import tsx test/helpers/lockContender.ts <json>`.
 *
 * mode "count": takes the lock `rounds` times; under it reads a counter and writes counter + 1
 * with a fenced write; prints one JSON line per round (acquire/release times, fence).
 * mode "hold": takes the lock, prints its fence, and keeps it (until killed).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { fencedUpdate } from '../../lib/sync/fenced.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { exampleKeys } from '../../lib/table/layout.ts';
import { localConfig } from '../../infra/localstack/clients.ts';

interface Args {
  mode: 'count' | 'hold';
  tableName: string;
  lockName: string;
  rounds?: number;
  leaseMs?: number;
  id: string;
  fairness?: 'fifo' | 'polling';
}

const args = JSON.parse(process.argv[2]!) as Args;
const client = new DynamoDBClient(localConfig);
const mutex = new Mutex({
  client,
  tableName: args.tableName,
  name: args.lockName,
  owner: args.id,
  leaseMs: args.leaseMs ?? 5000,
  clockSkewMs: 200,
  ...(args.fairness ? { fairness: args.fairness } : {}),
});
const counterKey = exampleKeys.counter(args.lockName);

if (args.mode === 'hold') {
  const held = await mutex.lock();
  console.log(JSON.stringify({ fence: held.fence }));
  setInterval(() => {}, 1000); // stay alive, heartbeating, until killed
} else {
  for (let round = 0; round < (args.rounds ?? 1); round++) {
    const held = await mutex.lock();
    const acquiredAt = Date.now();
    const { Item } = await client.send(new GetItemCommand({ TableName: args.tableName, Key: counterKey, ConsistentRead: true }));
    const value = Number(Item?.value?.N ?? 0);
    await fencedUpdate(
      client,
      {
        TableName: args.tableName,
        Key: counterKey,
        UpdateExpression: 'SET #value = :next',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: { ':next': { N: String(value + 1) } },
      },
      held.fence,
    );
    const releasedAt = Date.now();
    await held.unlock();
    console.log(JSON.stringify({ id: args.id, fence: held.fence, acquiredAt, releasedAt, read: value }));
  }
  client.destroy();
}
