/**
 * WaitGroup, Group (errgroup) and go(): counters on the mesh table, workers as real Lambda
 * functions on LocalStack (the taskWorker fixture, with the taskCompletion middleware).
 */
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  InvokeCommand,
  PutFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DuplicateTaskError,
  GroupTaskError,
  PayloadTooLargeError,
  ShardCountMismatchError,
  WaitGroupNegativeCounterError,
  WaitGroupTaskLostError,
} from '../../lib/errors.ts';
import { SdkFaults } from '../../lib/faults/sdkFaults.ts';
import { envelope, go, type TaskRef } from '../../lib/spawn/go.ts';
import { recordTaskOutcome, recordTaskStart } from '../../lib/spawn/taskRecord.ts';
import { taskCompletion } from '../../lib/middlewares/taskCompletion.ts';
import { sleep } from '../../lib/internal/time.ts';
import { shardOf } from '../../lib/spawn/shards.ts';
import { keys } from '../../lib/table/layout.ts';
import { Group } from '../../lib/spawn/Group.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import { localConfig } from '../../infra/localstack/clients.ts';
import {
  createMeshTable,
  createQueue,
  deleteMeshTable,
  dynamodb,
  lambda,
  sqs,
  type TestQueue,
  uniqueSuffix,
} from '../../infra/localstack/resources.ts';
import { eventually } from '../helpers/eventually.ts';
import { deployFixture } from '../helpers/deployWorker.ts';

let tableName: string;
let removeWorker: () => Promise<void>;
const worker = `fnmesh-test-worker-${uniqueSuffix()}`;

beforeAll(async () => {
  tableName = await createMeshTable('groups');
  removeWorker = await deployFixture('taskWorker', worker, { environment: { MESH_TABLE: tableName } });
});

afterAll(async () => {
  await Promise.all([deleteMeshTable(tableName), removeWorker()]);
});

const waitGroup = (name = `wg-${uniqueSuffix()}`) => new WaitGroup({ client: dynamodb, tableName, name });

async function resultOf(n: number): Promise<number | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: `result#${n}` }, sk: { S: 'result' } }, ConsistentRead: true }),
  );
  return Item?.value?.N === undefined ? undefined : Number(Item.value.N);
}

describe('the worker side', () => {
  it('refuses a task envelope that names another table, and writes nothing there', async () => {
    const elsewhere = await createMeshTable('elsewhere');
    try {
      const task = { kind: 'waitgroup', tableName: elsewhere, name: 'stolen', taskId: 'task-1', functionName: worker };
      const { FunctionError, Payload } = await lambda.send(
        new InvokeCommand({ FunctionName: worker, Payload: JSON.stringify({ fnmesh: { v: 1, task }, payload: { n: 3, tableName } }) }),
      );
      expect(FunctionError).toBe('Unhandled');
      expect(JSON.parse(Buffer.from(Payload!).toString())).toMatchObject({
        errorType: 'InvalidInputError',
        errorMessage: expect.stringContaining(`this worker records to ${tableName}`),
      });
      expect((await dynamodb.send(new ScanCommand({ TableName: elsewhere, ConsistentRead: true }))).Count).toBe(0);
      expect(await resultOf(3)).toBeUndefined(); // the handler never ran
    } finally {
      await deleteMeshTable(elsewhere);
    }
  });

  /** A group with one task started (its item `running`, counted in), as `go` leaves it before the worker reports. */
  async function startedTask() {
    const group = new Group({ dynamodb, lambda, tableName });
    const task: TaskRef = { kind: 'group', tableName, name: group.id, taskId: `task-${uniqueSuffix()}`, functionName: worker };
    await recordTaskStart(dynamodb, task, { startedAt: Date.now(), deadline: Date.now() + 600_000 });
    return { group, task, event: envelope(task, { n: 4 }) };
  }

  /** A tracked worker run in this process, as Lambda would run it: `attempt` is the handler. */
  function trackedWorker(attempt: () => Promise<unknown>, options: { rethrow?: boolean; remainingMs?: number } = {}) {
    const handler = middy(attempt).use(taskCompletion({ client: dynamodb, tableName, rethrow: options.rethrow ?? false }));
    const context = { getRemainingTimeInMillis: () => options.remainingMs ?? 60_000 } as unknown as Context;
    return (event: unknown) => handler(event, context);
  }

  it("a report for a task the group never started changes nothing: a stray record cannot end the group's wait early", async () => {
    const { group, task } = await startedTask();
    const stray: TaskRef = { ...task, taskId: `never-started-${uniqueSuffix()}` };

    expect(await recordTaskOutcome(dynamodb, stray, { ok: true })).toBe(false);
    expect(await recordTaskOutcome(dynamodb, stray, { ok: false, errorType: 'Error', errorMessage: 'stray' })).toBe(false);
    await trackedWorker(async () => 16)(envelope(stray, { n: 4 }));

    expect(await group.status()).toMatchObject({ started: 1, pending: 1, succeeded: 0, failed: 0, firstError: undefined });
    expect(await recordTaskOutcome(dynamodb, task, { ok: true })).toBe(true); // the real task still counts
    expect(await group.wait({ signal: AbortSignal.timeout(5000) })).toMatchObject({ pending: 0, succeeded: 1 });
  });

  it("an attempt that middy's early timeout ends records nothing and fails (Lambda retries it); the retry that succeeds counts", async () => {
    const { group, event } = await startedTask();
    const slow = trackedWorker(() => sleep(2_000), { remainingMs: 300 });

    await expect(slow(event)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await group.status()).toMatchObject({ pending: 1, succeeded: 0, failed: 0 });

    expect(await trackedWorker(async () => 16)(event)).toBe(16);
    expect(await group.wait({ signal: AbortSignal.timeout(5000) })).toMatchObject({ pending: 0, succeeded: 1, failed: 0 });
  });

  it('with rethrow, a failed attempt records nothing and its error goes on (Lambda retries it); the retry that succeeds counts', async () => {
    const { group, event } = await startedTask();
    let attempts = 0;
    const flaky = trackedWorker(
      async () => {
        if (++attempts === 1) throw new Error('first attempt fails');
        return 16;
      },
      { rethrow: true },
    );

    await expect(flaky(event)).rejects.toThrow('first attempt fails');
    expect(await group.status()).toMatchObject({ pending: 1, succeeded: 0, failed: 0 });

    expect(await flaky(event)).toBe(16);
    expect(await group.wait({ signal: AbortSignal.timeout(5000) })).toMatchObject({ pending: 0, succeeded: 1, failed: 0 });
  });
});

describe('WaitGroup', () => {
  it('counts each task id once, however many times it reports done', async () => {
    const wg = waitGroup();
    await wg.add(3);

    const firsts = await Promise.all(['a', 'b', 'c'].map((task) => wg.done(task)));
    const retries = await Promise.all(['a', 'b', 'c', 'a'].map((task) => wg.done(task)));

    expect(firsts).toEqual([true, true, true]);
    expect(retries).toEqual([false, false, false, false]);
    expect(await wg.count()).toBe(0);
    await wg.wait({ signal: AbortSignal.timeout(2000) });
  });

  it('an add whose answer was lost is applied once: the SDK sends it again, and the count is not doubled', async () => {
    // The first write add makes (whichever operation it is) is applied and its answer lost.
    const faults = new SdkFaults({ rate: 1, seed: 1, kinds: ['ambiguous'], operations: ['UpdateItem', 'TransactWriteItems'], limit: 1 });
    const lossy = new WaitGroup({ client: faults.attach(new DynamoDBClient(localConfig)), tableName, name: `wg-${uniqueSuffix()}` });

    await lossy.add(2);
    await lossy.add(-1);

    expect(faults.injected.ambiguous).toBe(1);
    expect(await lossy.count()).toBe(1);
    expect(await lossy.done('only-task')).toBe(true);
    await lossy.wait({ signal: AbortSignal.timeout(2000) });
  });

  it('refuses to go negative, in add and in done, and changes nothing', async () => {
    const wg = waitGroup();
    await wg.add(1);

    await expect(wg.add(-2)).rejects.toBeInstanceOf(WaitGroupNegativeCounterError);
    expect(await wg.done('only')).toBe(true);
    await expect(wg.done('extra')).rejects.toBeInstanceOf(WaitGroupNegativeCounterError);
    expect(await wg.count()).toBe(0);
  });

  it('wait blocks until the last done, from concurrent workers', async () => {
    const wg = waitGroup();
    await wg.add(5);
    let finished = false;
    const waiting = wg.wait({ signal: AbortSignal.timeout(10_000) }).then(() => (finished = true));

    for (let task = 0; task < 4; task++) await wg.done(`t${task}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(finished).toBe(false);
    await wg.done('t4');

    await waiting;
    expect(finished).toBe(true);
  });

  it('go() starts real workers whose middleware marks them done', async () => {
    const wg = waitGroup();

    await Promise.all([11, 12, 13].map((n) => wg.go(lambda, worker, { n, tableName })));
    await wg.wait({ signal: AbortSignal.timeout(60_000) });

    expect(await Promise.all([11, 12, 13].map(resultOf))).toEqual([121, 144, 169]);
  });
});

describe('Group', () => {
  it('waits for every task, and resolves with the counts when all succeed', async () => {
    const group = new Group({ dynamodb, lambda, tableName });

    for (const n of [2, 3, 4, 5]) await group.go(worker, { n, tableName });
    const status = await group.wait({ signal: AbortSignal.timeout(60_000) });

    expect(status).toMatchObject({ started: 4, pending: 0, succeeded: 4, failed: 0 });
    expect(await Promise.all([2, 3, 4, 5].map(resultOf))).toEqual([4, 9, 16, 25]);
  });

  it('rejects with the first error of a real failing Lambda: task, function, type and message', async () => {
    const group = new Group({ dynamodb, lambda, tableName });

    const failing = await group.go(worker, { fail: 'cannot square this', tableName });
    await group.go(worker, { n: 6, tableName, sleepMs: 300 });
    const error = await group.wait({ signal: AbortSignal.timeout(60_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure).toEqual({
      taskId: failing,
      functionName: worker,
      errorType: 'SquareError',
      errorMessage: 'cannot square this',
    });
    // errgroup semantics: Wait returns after all tasks finished, not at the first error.
    expect(await resultOf(6)).toBe(36);
    expect((await group.status()).pending).toBe(0);
  });

  it('never runs more than `limit` tasks at once', async () => {
    const group = new Group({ dynamodb, lambda, tableName, limit: 2, poll: { baseMs: 20, maxMs: 100 } });
    let maxPending = 0;
    const sampling = setInterval(async () => {
      maxPending = Math.max(maxPending, (await group.status()).pending);
    }, 30);

    for (const n of [21, 22, 23, 24, 25]) await group.go(worker, { n, tableName, sleepMs: 400 });
    await group.wait({ signal: AbortSignal.timeout(60_000) });
    clearInterval(sampling);

    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(2);
    expect((await group.status()).succeeded).toBe(5);
  });

  it('records a task whose function does not exist as failed, instead of waiting forever', async () => {
    const group = new Group({ dynamodb, lambda, tableName });

    await group.go('fnmesh-test-no-such-function', { n: 1, tableName });
    const error = await group.wait({ signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure.errorType).toBe('ResourceNotFoundException');
  });
});

describe('sharded counters (shards = 8)', () => {
  const SHARDS = 8;
  const sharded = (name = `wg-${uniqueSuffix()}`, client = dynamodb) => new WaitGroup({ client, tableName, name, shards: SHARDS });
  /** A task id whose shard, among `shards`, is `shard`. */
  const idOnShard = (shard: number, shards: number, prefix = 'task') => {
    for (let i = 0; ; i++) if (shardOf(`${prefix}-${i}`, shards) === shard) return `${prefix}-${i}`;
  };
  const item = async (key: ReturnType<typeof keys.waitGroup>) =>
    (await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;

  it('WaitGroup: each task is counted once, on its own shard, whatever the retries and lost answers', async () => {
    const wg = sharded();
    const tasks = Array.from({ length: 16 }, (_, i) => `t${i}`);
    await wg.add(tasks.length);
    // The first three dones are applied and their answers lost: the SDK sends them again.
    const lossy = tasks.slice(0, 3).map(() => {
      const faults = new SdkFaults({ rate: 1, seed: 1, kinds: ['ambiguous'], operations: ['TransactWriteItems'], limit: 1 });
      return { faults, wg: sharded(wg.name, faults.attach(new DynamoDBClient(localConfig))) };
    });

    await Promise.all(lossy.map(({ wg: lossyWg }, i) => lossyWg.done(tasks[i]!)));
    const firsts = await Promise.all(tasks.slice(3).map((task) => wg.done(task)));
    const retries = await Promise.all(tasks.map((task) => wg.done(task)));

    expect(lossy.map(({ faults }) => faults.injected.ambiguous)).toEqual([1, 1, 1]);
    expect(firsts.every(Boolean)).toBe(true);
    expect(retries.some(Boolean)).toBe(false);
    expect(await wg.count()).toBe(0);
    await wg.wait({ signal: AbortSignal.timeout(5000) });
    // Each marker sits in its shard's partition; the tasks used several shards.
    for (const task of tasks) expect((await item(keys.waitGroupTask(wg.name, task, shardOf(task, SHARDS))))?.status?.S).toBe('succeeded');
    expect(new Set(tasks.map((task) => shardOf(task, SHARDS))).size).toBeGreaterThan(4);
    expect(await item(keys.waitGroup(wg.name, 0))).toMatchObject({ v: { N: '2' }, shards: { N: String(SHARDS) } });
  });

  it('WaitGroup: wait wakes at zero and not before, with dones on many shards at once', async () => {
    const wg = sharded();
    await wg.add(10);
    let finished = false;
    const waiting = wg.wait({ signal: AbortSignal.timeout(15_000) }).then(() => (finished = true));

    await Promise.all(Array.from({ length: 9 }, (_, i) => wg.done(`t${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished).toBe(false);
    expect(await wg.count()).toBe(1);
    await wg.done('t9');

    await waiting;
    expect(finished).toBe(true);
  });

  it('WaitGroup: a sum below zero is refused by count and wait (shard counts are signed)', async () => {
    const wg = sharded();
    await wg.add(1);
    await wg.done(idOnShard(3, SHARDS));
    await wg.done(idOnShard(5, SHARDS));

    await expect(wg.count()).rejects.toBeInstanceOf(WaitGroupNegativeCounterError);
    await expect(wg.wait({ signal: AbortSignal.timeout(5000) })).rejects.toBeInstanceOf(WaitGroupNegativeCounterError);
  });

  it('WaitGroup: go() starts real workers whose middleware finds their shard in the envelope', async () => {
    const wg = sharded();

    await Promise.all([14, 15, 16, 17].map((n) => wg.go(lambda, worker, { n, tableName })));
    await wg.wait({ signal: AbortSignal.timeout(60_000) });

    expect(await Promise.all([14, 15, 16, 17].map(resultOf))).toEqual([196, 225, 256, 289]);
    expect(await wg.count()).toBe(0);
  });

  it('Group: counts summed over the shards, and the first error of a real failing worker', async () => {
    const group = new Group({ dynamodb, lambda, tableName, shards: SHARDS });

    const failing = await group.go(worker, { fail: 'not on this shard', tableName });
    for (const n of [7, 8, 9]) await group.go(worker, { n, tableName, sleepMs: 300 });
    const error = await group.wait({ signal: AbortSignal.timeout(60_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure).toMatchObject({
      taskId: failing,
      errorType: 'SquareError',
      errorMessage: 'not on this shard',
    });
    expect(await group.status()).toEqual(expect.objectContaining({ started: 4, pending: 0, succeeded: 3, failed: 1 }));
    expect(await Promise.all([7, 8, 9].map(resultOf))).toEqual([49, 64, 81]);
  });

  it('refuses a participant with another shard count, before it miscounts', async () => {
    const wg = sharded();
    await wg.add(2); // shard 0 now says 8 shards
    await wg.done(idOnShard(1, SHARDS)); // and shard 1 too
    const four = new WaitGroup({ client: dynamodb, tableName, name: wg.name, shards: 4 });
    const one = new WaitGroup({ client: dynamodb, tableName, name: wg.name });

    for (const other of [four, one]) {
      await expect(other.count()).rejects.toBeInstanceOf(ShardCountMismatchError);
      await expect(other.wait({ signal: AbortSignal.timeout(5000) })).rejects.toBeInstanceOf(ShardCountMismatchError);
      await expect(other.add(1)).rejects.toBeInstanceOf(ShardCountMismatchError);
    }
    await expect(four.done(idOnShard(0, 4, 'four'))).rejects.toMatchObject({ name: 'ShardCountMismatchError', shards: 4, storedShards: 8 });
    await expect(one.done('any')).rejects.toMatchObject({ name: 'ShardCountMismatchError', shards: 1, storedShards: 8 });
    expect(await wg.count()).toBe(1); // nothing changed

    // A sharded participant of an unsharded group is refused too.
    const plain = waitGroup();
    await plain.add(1);
    await expect(sharded(plain.name).count()).rejects.toBeInstanceOf(ShardCountMismatchError);
    await expect(sharded(plain.name).add(1)).rejects.toBeInstanceOf(ShardCountMismatchError);

    // Group: the first go puts the count on shard 0, wherever its task lands.
    const group = new Group({ dynamodb, lambda, tableName, shards: SHARDS });
    await group.go(worker, { n: 18, tableName }, { taskId: idOnShard(6, SHARDS) });
    await expect(new Group({ dynamodb, lambda, tableName, id: group.id, shards: 2 }).status()).rejects.toBeInstanceOf(
      ShardCountMismatchError,
    );
    await expect(new Group({ dynamodb, lambda, tableName, id: group.id }).status()).rejects.toBeInstanceOf(ShardCountMismatchError);
    await group.wait({ signal: AbortSignal.timeout(60_000) });
  });
});

describe('go', () => {
  it('starts a worker asynchronously', async () => {
    await go(lambda, worker, { n: 31, tableName });

    expect(await eventually(() => resultOf(31), 'the worker to write its result')).toBe(961);
  });

  it('refuses a payload over the asynchronous limit before any call', async () => {
    const huge = { blob: 'x'.repeat(1_100_000), tableName };

    await expect(go(lambda, 'fnmesh-test-never-called', huge)).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(go(lambda, 'fnmesh-test-never-called', { big: 1n })).rejects.toMatchObject({ name: 'InvalidInputError' });
  });
});

/** A DynamoDB client that counts the commands it sends, by name. */
function countingClient(): { client: DynamoDBClient; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const client = new DynamoDBClient({ ...localConfig, maxAttempts: 1 });
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls[context.commandName!] = (calls[context.commandName!] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client, calls };
}

async function taskItem(partition: string, sortKey: string) {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: partition }, sk: { S: sortKey } }, ConsistentRead: true }),
  );
  return Item;
}

describe('tasks that never report', () => {
  // Both crash on every attempt and are retried 0 times (LocalStack's retry delays are AWS's real
  // 1 and 2 minutes). `silent` has no destination: only a deadline can end a wait on it.
  // `destined` sends its failed events to a queue read by the real taskfailures function.
  const silent = `fnmesh-test-silent-${uniqueSuffix()}`;
  const destined = `fnmesh-test-destined-${uniqueSuffix()}`;
  const failuresFunction = `fnmesh-test-taskfailures-${uniqueSuffix()}`;
  let failures: TestQueue;
  let failuresArn: string;
  let mapping: string;
  let removers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    failures = await createQueue('task-failures', { visibilityTimeout: 10 });
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: failures.queueUrl, AttributeNames: ['QueueArn'] }));
    failuresArn = Attributes!.QueueArn!;
    const environment = { MESH_TABLE: tableName };
    removers = await Promise.all([
      deployFixture('taskWorker', silent, { environment }),
      deployFixture('taskWorker', destined, { environment }),
      deployFixture('taskfailures', failuresFunction, { environment, entry: 'functions/taskfailures/handler.ts' }),
    ]);
    await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: silent, MaximumRetryAttempts: 0 }));
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: destined,
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: failuresArn } },
      }),
    );
    const { UUID } = await lambda.send(
      new CreateEventSourceMappingCommand({
        EventSourceArn: failuresArn,
        FunctionName: failuresFunction,
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      }),
    );
    mapping = UUID!;
  });

  afterAll(async () => {
    await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping })).catch(() => undefined);
    await Promise.all([...removers.map((remove) => remove()), failures?.remove()]);
  });

  it('Group: a task whose every attempt crashes is recorded from the on-failure destination; wait rejects naming it', async () => {
    const group = new Group({ dynamodb, lambda, tableName });

    const lost = await group.go(destined, { crash: true, tableName });
    await group.go(worker, { n: 51, tableName });
    const error = await group.wait({ signal: AbortSignal.timeout(90_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure).toMatchObject({
      taskId: lost,
      functionName: destined,
      errorType: 'RetriesExhausted',
      errorMessage: expect.stringContaining('Runtime.ExitError'),
    });
    expect(await group.status()).toMatchObject({ started: 2, pending: 0, succeeded: 1, failed: 1 });
  });

  it('a destination record delivered again (SQS delivers at least once) changes nothing', async () => {
    const group = new Group({ dynamodb, lambda, tableName });
    const lost = await group.go(destined, { crash: true, tableName });
    await group.wait({ signal: AbortSignal.timeout(90_000) }).catch(() => undefined);
    const task: TaskRef = { kind: 'group', tableName, name: group.id, taskId: lost, functionName: destined };
    const record = {
      version: '1.0',
      requestContext: {
        requestId: 'again',
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${destined}`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 1,
      },
      requestPayload: envelope(task, { crash: true, tableName }),
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'Runtime.ExitError', errorMessage: 'again' },
    };

    await sqs.send(new SendMessageCommand({ QueueUrl: failures.queueUrl, MessageBody: JSON.stringify(record) }));
    await eventually(async () => {
      const { visible, inFlight } = await failures.depth();
      return visible + inFlight === 0 ? true : undefined;
    }, 'the taskfailures function to take the record');

    expect(await group.status()).toMatchObject({ started: 1, pending: 0, succeeded: 0, failed: 1 });
    const item = await taskItem(`group#${group.id}`, `task#${lost}`);
    expect(item?.errorType?.S).toBe('RetriesExhausted');
    expect(item?.errorMessage?.S).not.toContain('again');
  });

  it('Group: 150 tasks past their deadline are recorded a transaction per 99, a task that reports meanwhile counted once', async () => {
    const id = `mass-crash-${uniqueSuffix()}`;
    const tasks: TaskRef[] = Array.from({ length: 150 }, (_, i) => ({
      kind: 'group',
      tableName,
      name: id,
      taskId: `t${i}`,
      functionName: worker,
    }));
    const deadline = Date.now() + 1_000;
    for (const task of tasks) await recordTaskStart(dynamodb, task, { startedAt: deadline - 1_000, deadline });
    // The waiter's client: counts its transactions; before the first, task t7 reports (it succeeded after all).
    const counting = new DynamoDBClient(localConfig);
    let transactions = 0;
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && transactions++ === 0)
          await recordTaskOutcome(dynamodb, tasks[7]!, { ok: true });
        return next(args);
      },
      { step: 'initialize', name: 'countTransactions' },
    );
    const waiter = new Group({ dynamodb: counting, lambda, tableName, id, poll: { baseMs: 50, maxMs: 200 } });

    const error = await waiter.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure.errorType).toBe('TaskDeadlineExceeded');
    expect(await waiter.status()).toMatchObject({ started: 150, pending: 0, succeeded: 1, failed: 149 });
    // 99 + 51; the first cancelled by t7's report and sent again without it.
    expect(transactions).toBe(3);
  });

  it('Group: with no destination, a task whose every attempt crashes ends wait at its deadline (TaskDeadlineExceeded)', async () => {
    const group = new Group({ dynamodb, lambda, tableName, taskTimeoutMs: 2000 });
    const started = Date.now();

    const lost = await group.go(silent, { crash: true, tableName });
    const error = await group.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(GroupTaskError);
    expect((error as GroupTaskError).failure).toMatchObject({ taskId: lost, functionName: silent, errorType: 'TaskDeadlineExceeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(await group.status()).toMatchObject({ started: 1, pending: 0, succeeded: 0, failed: 1 });
  });

  it('a late report, after the deadline was recorded, changes nothing', async () => {
    const group = new Group({ dynamodb, lambda, tableName, taskTimeoutMs: 1000 });
    const late = await group.go(worker, { n: 61, tableName, sleepMs: 4000 });
    const error = await group.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);
    expect((error as GroupTaskError).failure).toMatchObject({ taskId: late, errorType: 'TaskDeadlineExceeded' });

    // The worker reports: once more synchronously (its middleware has run when the call returns),
    // and the first attempt itself once its sleep ends.
    const task: TaskRef = { kind: 'group', tableName, name: group.id, taskId: late, functionName: worker };
    const { FunctionError } = await lambda.send(
      new InvokeCommand({ FunctionName: worker, Payload: JSON.stringify(envelope(task, { n: 61, tableName })) }),
    );
    expect(FunctionError).toBeUndefined();
    await eventually(() => resultOf(61), 'the late worker to finish');
    await new Promise((resolve) => setTimeout(resolve, 5000));

    expect(await group.status()).toMatchObject({ started: 1, pending: 0, succeeded: 0, failed: 1 });
    const item = await taskItem(`group#${group.id}`, `task#${late}`);
    expect(item).toMatchObject({ status: { S: 'failed' }, errorType: { S: 'TaskDeadlineExceeded' } });
    expect(Number(item!.deadline!.N)).toBeLessThanOrEqual(Number(item!.finishedAt!.N));
  });

  it('WaitGroup: a task whose every attempt crashes is recorded from the destination; wait rejects with WaitGroupTaskLostError', async () => {
    const wg = waitGroup();

    const lost = await wg.go(lambda, destined, { crash: true, tableName });
    await wg.go(lambda, worker, { n: 71, tableName });
    const error = await wg.wait({ signal: AbortSignal.timeout(90_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(WaitGroupTaskLostError);
    expect(error).toMatchObject({ lost: 1, failure: { taskId: lost, functionName: destined, errorType: 'RetriesExhausted' } });
    expect(await wg.count()).toBe(0);
  });

  it('WaitGroup: a task that never reports ends wait at its deadline; its late done() is ignored', async () => {
    const wg = new WaitGroup({ client: dynamodb, tableName, name: `wg-${uniqueSuffix()}`, taskTimeoutMs: 1500 });

    const lost = await wg.go(lambda, silent, { crash: true, tableName });
    const error = await wg.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(WaitGroupTaskLostError);
    expect((error as WaitGroupTaskLostError).failure).toMatchObject({
      taskId: lost,
      functionName: silent,
      errorType: 'TaskDeadlineExceeded',
    });
    expect(await wg.done(lost)).toBe(false);
    expect(await wg.count()).toBe(0);
  });

  it('sharded: tasks that never report end wait by their deadlines, found by a Query of each shard', async () => {
    const wg = new WaitGroup({ client: dynamodb, tableName, name: `wg-${uniqueSuffix()}`, taskTimeoutMs: 1500, shards: 8 });
    const ids = ['lost-a', 'lost-b', 'lost-c'];
    expect(new Set(ids.map((id) => shardOf(id, 8))).size).toBeGreaterThan(1);

    for (const taskId of ids) await wg.go(lambda, silent, { crash: true, tableName }, { taskId });
    const error = await wg.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(WaitGroupTaskLostError);
    expect(error).toMatchObject({ lost: 3, failure: { errorType: 'TaskDeadlineExceeded' } });
    expect(ids).toContain((error as WaitGroupTaskLostError).failure.taskId);
    expect(await wg.done('lost-b')).toBe(false);
    expect(await wg.count()).toBe(0);
  });

  it('sharded: a task Lambda gave up on is recorded on its shard from the on-failure destination', async () => {
    const group = new Group({ dynamodb, lambda, tableName, shards: 4 });

    const lost = await group.go(destined, { crash: true, tableName });
    await group.go(worker, { n: 52, tableName });
    const error = await group.wait({ signal: AbortSignal.timeout(90_000) }).catch((err: unknown) => err);

    expect((error as GroupTaskError).failure).toMatchObject({ taskId: lost, functionName: destined, errorType: 'RetriesExhausted' });
    expect(await group.status()).toMatchObject({ started: 2, pending: 0, succeeded: 1, failed: 1 });
    const shard = shardOf(lost, 4);
    const marker = await taskItem(keys.groupTask(group.id, lost, shard).pk.S!, `task#${lost}`);
    expect(marker).toMatchObject({ status: { S: 'failed' }, v: { N: '2' } });
  });

  it('a per-call taskTimeoutMs overrides the group’s, and a waiter in another process finds the overdue task too', async () => {
    const starter = new Group({ dynamodb, lambda, tableName });
    const lost = await starter.go(silent, { crash: true, tableName }, { taskTimeoutMs: 1500 });
    const elsewhere = new Group({ dynamodb, lambda, tableName, id: starter.id });

    const error = await elsewhere.wait({ signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);

    expect((error as GroupTaskError).failure).toMatchObject({ taskId: lost, errorType: 'TaskDeadlineExceeded' });
  });

  it('a task id used twice in one group is refused before any invoke', async () => {
    const group = new Group({ dynamodb, lambda, tableName });
    await group.go(worker, { n: 81, tableName }, { taskId: 'same' });

    await expect(group.go(worker, { n: 82, tableName }, { taskId: 'same' })).rejects.toBeInstanceOf(DuplicateTaskError);
    expect(await group.wait({ signal: AbortSignal.timeout(60_000) })).toMatchObject({ started: 1, succeeded: 1 });
  });

  it('the normal path: go is 1 TransactWriteItems (+ 1 Invoke); a wait whose tasks report in time makes no Query', async () => {
    const { client, calls } = countingClient();
    const group = new Group({ dynamodb: client, lambda, tableName });
    const wg = new WaitGroup({ client, tableName, name: `wg-${uniqueSuffix()}` });

    await group.go(worker, { n: 91, tableName });
    await wg.go(lambda, worker, { n: 92, tableName });
    expect(calls).toEqual({ TransactWriteItemsCommand: 2 });
    await Promise.all([group.wait({ signal: AbortSignal.timeout(60_000) }), wg.wait({ signal: AbortSignal.timeout(60_000) })]);

    expect(Object.keys(calls).sort()).toEqual(['GetItemCommand', 'TransactWriteItemsCommand']);
    expect(calls.TransactWriteItemsCommand).toBe(2);
  });
});
