/**
 * WaitGroup, Group (errgroup) and go(): counters on the mesh table, workers as real Lambda
 * functions on LocalStack (the taskWorker fixture, with the taskCompletion middleware).
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupTaskError, PayloadTooLargeError, WaitGroupNegativeCounterError } from '../../lib/errors.ts';
import { go } from '../../lib/spawn/go.ts';
import { Group } from '../../lib/spawn/Group.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import { dynamodb, eventually, lambda, uniqueSuffix } from '../helpers/aws.ts';
import { deployFixture } from '../helpers/deployWorker.ts';
import { createMeshTable, deleteMeshTable } from '../helpers/meshTable.ts';

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
