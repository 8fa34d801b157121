/**
 * One lock contender in its own process (so the chaos run can freeze it with SIGSTOP, like a GC
 * pause or a frozen Lambda): `node --import tsx chaos/lockWorker.ts '<json args>'`.
 *
 * It adds 1 to a counter `increments` times. Each time: take the lock, read the counter, and write
 * counter + 1 with the lock's fence (refused if a later holder wrote) and a compare-and-set on the
 * value read (refused if anyone wrote since), appending `<fence>:<id>:<n>` to the counter's log in
 * the same write. A refused write is redone under a new grant. Its DynamoDB client draws SDK
 * faults (throttling, dropped connections, lost answers) at `faultRate`.
 *
 * Prints one JSON line per event: grant, write (with its outcome), and done (with fault counts).
 */
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { localConfig } from '../infra/localstack/clients.ts';
import { StaleFenceError } from '../lib/errors.ts';
import { randomInt, seededRandom } from '../lib/faults/random.ts';
import { SdkFaults } from '../lib/faults/sdkFaults.ts';
import { sleep } from '../lib/internal/time.ts';
import { fencedUpdate } from '../lib/sync/fenced.ts';
import { type HeldLock, Mutex } from '../lib/sync/Mutex.ts';
import { logEntry, type WriteOutcome } from './lockHistory.ts';
import { counterKey, type LockWorkerArgs } from './lockWorkerArgs.ts';

const args = JSON.parse(process.argv[2]!) as LockWorkerArgs;
const faults = new SdkFaults({ rate: args.faultRate, seed: args.seed });
const work = seededRandom(args.seed + 1);
const client = faults.attach(new DynamoDBClient({ ...localConfig, maxAttempts: 6 }));
const mutex = new Mutex({
  client,
  tableName: args.tableName,
  name: args.lockName,
  owner: args.id,
  leaseMs: args.leaseMs,
  clockSkewMs: 100,
});
const key = counterKey(args.lockName);
const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);

async function readCounter(): Promise<{ value: number; log: string[] }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { Item } = await client.send(new GetItemCommand({ TableName: args.tableName, Key: key, ConsistentRead: true }));
      return { value: Number(Item?.value?.N ?? 0), log: (Item?.log?.L ?? []).map((entry) => entry.S!) };
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(50);
    }
  }
}

async function increment(held: HeldLock, value: number, entry: string): Promise<WriteOutcome> {
  const write = {
    TableName: args.tableName,
    Key: key,
    UpdateExpression: 'SET #value = :next, #log = list_append(if_not_exists(#log, :empty), :entry)',
    ExpressionAttributeNames: { '#value': 'value', '#log': 'log' },
    ExpressionAttributeValues: { ':next': { N: String(value + 1) }, ':empty': { L: [] }, ':entry': { L: [{ S: entry }] } },
  };
  try {
    if (args.unsafe) {
      // The negative control: trusts the lease alone (no fence, no compare-and-set).
      await client.send(new UpdateItemCommand(write));
      return 'accepted';
    }
    await fencedUpdate(
      client,
      {
        ...write,
        ConditionExpression: value === 0 ? 'attribute_not_exists(#value)' : '#value = :read',
        ExpressionAttributeValues: { ...write.ExpressionAttributeValues, ...(value === 0 ? {} : { ':read': { N: String(value) } }) },
      },
      held.fence,
    );
    return 'accepted';
  } catch (err) {
    if (err instanceof StaleFenceError) return 'stale';
    // Refused by the compare-and-set, or failed on every attempt, or applied by an attempt whose
    // answer was lost: the log says which.
    try {
      return (await readCounter()).log.includes(entry) ? 'accepted' : 'refused';
    } catch {
      return err instanceof ConditionalCheckFailedException ? 'refused' : 'unknown';
    }
  }
}

let sequence = 0;
for (let done = 0; done < args.increments;) {
  const invokedAt = Date.now();
  let held: HeldLock;
  try {
    held = await mutex.lock();
  } catch (err) {
    emit({ type: 'error', process: args.id, during: 'lock', message: (err as Error).message });
    await sleep(50);
    continue;
  }
  emit({ type: 'grant', process: args.id, fence: held.fence, invokedAt, acquiredAt: Date.now() });
  try {
    const { value } = await readCounter();
    await sleep(randomInt(work, 0, args.workMs)); // the work the lock protects; a freeze lands here
    const entry = logEntry(held.fence, args.id, sequence++);
    const outcome = await increment(held, value, entry);
    emit({ type: 'write', process: args.id, fence: held.fence, entry, outcome });
    if (outcome === 'accepted') done++;
  } catch (err) {
    emit({ type: 'error', process: args.id, during: 'read', message: (err as Error).message });
  }
  // The lease may be lost by now (a pause): refused releases are expected.
  await held.unlock().catch(() => undefined);
}
emit({ type: 'done', process: args.id, requests: faults.requests, faults: faults.injected });
client.destroy();
