/**
 * `npm run bench [-- --quick | --smoke] [-- --publish] [-- --out <dir>]` (also `fnmesh bench`): fnmesh
 * measured against the raw SDK doing the same work, side by side in the same run, on LocalStack.
 * Writes latest.json and renders BENCHMARKS.md with its charts into bench/out/ (ignored; or
 * `--out`); a full run with `--publish` also writes bench/results/latest.json, docs/BENCHMARKS.md
 * and docs/benchmarks/ (infra/runOutput.ts; a quick or smoke run refuses `--publish`). A smoke run
 * runs every section once at its smallest size: it proves the harness (every key, the exact call
 * counts; `npm test` runs it), its timings mean nothing.
 *
 * Exact API call counts come from an SDK middleware (`CallCounter`, lib/faults/callCounter.ts). Timings are medians of
 * several runs with their spread; ratios are taken pair by pair (fnmesh and raw, same run).
 */
import { QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionUpdatedV2 } from '@aws-sdk/client-lambda';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import HashRingPeer from 'hashring';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, totalmem, tmpdir, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { ensureVenv, projectRoot, strictStatus, up } from '../infra/localstack/localstack.ts';
import { serverless } from '../infra/serverless/cli.ts';
import { Channel, type ChannelOptions } from '../lib/channel/Channel.ts';
import { ShardedChannel } from '../lib/channel/ShardedChannel.ts';
import { jumpHash, murmur3 } from '../lib/ring/hash.ts';
import { HashRing } from '../lib/ring/HashRing.ts';
import { RpcClient } from '../lib/rpc/RpcClient.ts';
import { type Fairness, Mutex } from '../lib/sync/Mutex.ts';
import { Once } from '../lib/sync/Once.ts';
import { WaitGroup } from '../lib/sync/WaitGroup.ts';
import { exampleKeys } from '../lib/table/layout.ts';
import { FUNCTIONS, MESH_TABLE, resourceName, shardChannelName } from '../infra/stack.ts';
import { countedClients } from '../infra/localstack/clients.ts';
import { createMeshTable, createQueue, deleteMeshTable } from '../infra/localstack/resources.ts';
import { CallCounter, type CallTally } from '../lib/faults/callCounter.ts';
import { ApartContenders, lockRounds } from './lockContenders.ts';
import { writeReport } from './report.ts';
import { measureSubstrate, startFloor } from './substrate.ts';
import { type ApiCallsPerOp, type BenchResults, ratioStat, stat, TARGETS, type WireCalls } from './results.ts';
import { runOutput, writeRunFile, wroteLine } from '../infra/runOutput.ts';

const MESH_TABLE_NAME = resourceName('local', MESH_TABLE);

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const mode: BenchResults['mode'] = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';
const output = runOutput('bench', { unpublishable: mode === 'full' ? undefined : `a ${mode} run` });
/** Contenders of the fairness stage (issue 17: the tail at 16). */
const FAIRNESS_CONTENDERS = 16;
const size =
  mode === 'smoke'
    ? {
        runs: 1,
        messages: 50,
        lockIterations: 10,
        rpcCalls: 5,
        contenderRounds: 2,
        fairnessRounds: 2,
        // Threads take a while to load: a smoke run proves the stage with fewer.
        apartContenders: 2,
        fanOutTasks: 10,
        fanOutRuns: 1,
        boundedMessages: 5,
        ringKeys: 2_000,
        coldRuns: 1,
        warmRuns: 2,
        substrateIterations: 5,
      }
    : mode === 'quick'
      ? {
          runs: 3,
          messages: 300,
          lockIterations: 30,
          rpcCalls: 20,
          contenderRounds: 4,
          fairnessRounds: 4,
          apartContenders: FAIRNESS_CONTENDERS,
          fanOutTasks: 40,
          fanOutRuns: 1,
          boundedMessages: 20,
          ringKeys: 20_000,
          coldRuns: 2,
          warmRuns: 5,
          substrateIterations: 30,
        }
      : {
          runs: 5,
          messages: 1000,
          lockIterations: 200,
          rpcCalls: 100,
          contenderRounds: 15,
          fairnessRounds: 15,
          apartContenders: FAIRNESS_CONTENDERS,
          fanOutTasks: 1000,
          fanOutRuns: 2,
          boundedMessages: 200,
          ringKeys: 100_000,
          coldRuns: 5,
          warmRuns: 20,
          substrateIterations: 100,
        };

const counter = new CallCounter();
const { dynamodb, sqs, lambda } = countedClients(counter);
const log = (line: string) => process.stderr.write(`${line}\n`);
const elapsed = (startedAt: number) => performance.now() - startedAt;

async function repeat<T>(runs: number, one: (run: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let run = 0; run < runs; run++) results.push(await one(run));
  return results;
}

/** The calls behind each logical operation, summed over its runs (`wireCalls` in latest.json). */
const wire = new Map<keyof ApiCallsPerOp, { ops: number; calls: Map<string, CallTally> }>();

/** Adds the counter's tally, taken after `ops` operations of `op`, to `wire`. */
function recordWire(op: keyof ApiCallsPerOp, ops: number): void {
  const entry = wire.get(op) ?? { ops: 0, calls: new Map<string, CallTally>() };
  wire.set(op, entry);
  entry.ops += ops;
  for (const [call, tally] of Object.entries(counter.tally())) {
    const sum = entry.calls.get(call) ?? { attempts: 0, conflicts: 0, throttled: 0 };
    entry.calls.set(call, {
      attempts: sum.attempts + tally.attempts,
      conflicts: sum.conflicts + tally.conflicts,
      throttled: sum.throttled + tally.throttled,
    });
  }
}

function wireCalls(): WireCalls[] {
  return [...wire].flatMap(([op, { ops, calls }]) =>
    [...calls].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([call, tally]) => ({ op, ops, call, ...tally })),
  );
}

function median(values: number[]): number {
  return stat(values).median;
}

/** A fresh channel of numbers on `queueUrl`, on the benchmark's counted clients. */
function benchChannel(
  tableName: string,
  queueUrl: string,
  options: Pick<ChannelOptions<number>, 'capacity' | 'poll' | 'roomQueueUrl'> = {},
): Channel<number> {
  return new Channel<number>({
    sqs,
    dynamodb,
    tableName,
    name: `bench-${randomUUID().slice(0, 8)}`,
    queueUrl,
    waitTimeSeconds: 1,
    ...options,
  });
}

// --- channel throughput vs a raw batched loop ---------------------------------------------------

async function fnmeshChannelRun(tableName: string, messages: number): Promise<{ perSecond: number; sqs: number; dynamodb: number }> {
  const queue = await createQueue('bench-ch');
  try {
    const channel = benchChannel(tableName, queue.queueUrl);
    counter.reset();
    const startedAt = performance.now();
    const receiving = (async () => {
      let received = 0;
      for await (const _value of channel.range()) received++;
      return received;
    })();
    await channel.sendMany(Array.from({ length: messages }, (_, i) => i));
    await channel.close();
    const received = await receiving;
    const ms = elapsed(startedAt);
    if (received !== messages) throw new Error(`channel bench received ${received} of ${messages}`);
    recordWire('channelSendReceiveAck', messages);
    // The final empty poll and drain check are the cost of ending the loop, not of a message.
    return { perSecond: (messages / ms) * 1000, sqs: counter.total('SQS') / messages, dynamodb: counter.total('DynamoDB') / messages };
  } finally {
    await queue.remove();
  }
}

async function rawChannelRun(messages: number): Promise<number> {
  const queue = await createQueue('bench-raw');
  try {
    const startedAt = performance.now();
    const receiving = (async () => {
      let received = 0;
      while (received < messages) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        if (!Messages.length) continue;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        received += Messages.length;
      }
    })();
    for (let start = 0; start < messages; start += 10) {
      const entries = Array.from({ length: Math.min(10, messages - start) }, (_, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify({ value: start + i }),
      }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: entries }));
    }
    await receiving;
    return (messages / elapsed(startedAt)) * 1000;
  } finally {
    await queue.remove();
  }
}

async function unbatchedChannelCounts(tableName: string): Promise<{ sqs: number; dynamodb: number }> {
  const queue = await createQueue('bench-one');
  try {
    const channel = benchChannel(tableName, queue.queueUrl);
    const n = 10;
    counter.reset();
    for (let i = 0; i < n; i++) await channel.send(i);
    for (let i = 0; i < n; i++) await channel.receive();
    recordWire('channelSendReceiveAckUnbatched', n);
    return { sqs: counter.total('SQS') / n, dynamodb: counter.total('DynamoDB') / n };
  } finally {
    await queue.remove();
  }
}

// --- lock latency vs a raw pair of conditional UpdateItems --------------------------------------

async function lockRun(tableName: string, iterations: number): Promise<{ fnmeshMs: number; rawMs: number; calls: number }> {
  const mutex = new Mutex({ client: dynamodb, tableName, name: `bench-${randomUUID().slice(0, 8)}` });
  const key = { pk: { S: `rawlock#${randomUUID()}` }, sk: { S: 'lock' } };
  const fnmeshOnce = async () => {
    const held = await mutex.lock();
    await held.unlock();
  };
  const rawOnce = async () => {
    const now = Date.now();
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET #owner = :me, #leaseUntil = :until ADD #fence :one',
        ConditionExpression: 'attribute_not_exists(#owner) OR #leaseUntil < :now',
        ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil', '#fence': 'fence' },
        ExpressionAttributeValues: {
          ':me': { S: 'raw' },
          ':until': { N: String(now + 15_000) },
          ':now': { N: String(now) },
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'REMOVE #owner, #leaseUntil',
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil' },
        ExpressionAttributeValues: { ':me': { S: 'raw' } },
      }),
    );
  };
  counter.reset();
  for (let i = 0; i < iterations; i++) await fnmeshOnce();
  const calls = counter.total('DynamoDB') / iterations;
  recordWire('lockUnlock', iterations);
  // Timed pair by pair, the order alternating, so drift in the machine's load hits both alike.
  const [fnmesh, raw] = await interleaved(iterations, fnmeshOnce, rawOnce);
  return { fnmeshMs: median(fnmesh), rawMs: median(raw), calls };
}

/** Times `a` and `b` `iterations` times each, alternating which goes first. */
async function interleaved(iterations: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  const timesA: number[] = [];
  const timesB: number[] = [];
  const time = async (one: () => Promise<unknown>, into: number[]) => {
    const startedAt = performance.now();
    await one();
    into.push(elapsed(startedAt));
  };
  for (let i = 0; i < iterations; i++) {
    if (i % 2) {
      await time(a, timesA);
      await time(b, timesB);
    } else {
      await time(b, timesB);
      await time(a, timesA);
    }
  }
  return [timesA, timesB];
}

// --- RPC round trip vs a raw Invoke ---------------------------------------------------------------

async function rpcRun(calls: number): Promise<{ fnmeshMs: number; rawMs: number; invokes: number }> {
  const functionName = resourceName('local', FUNCTIONS.quoter);
  const client = new RpcClient({ lambda, functionName });
  let i = 0;
  const fnmeshOnce = () => client.call('Quoter.Multiply', { A: i++, B: 7 });
  const rawOnce = async () => {
    const payload = Buffer.from(JSON.stringify({ fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: { A: i++, B: 7 } }));
    const response = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: payload }));
    JSON.parse(Buffer.from(response.Payload!).toString());
  };
  counter.reset();
  for (let call = 0; call < calls; call++) await fnmeshOnce();
  const invokes = counter.total('Lambda') / calls;
  recordWire('rpcCall', calls);
  const [fnmesh, raw] = await interleaved(calls, fnmeshOnce, rawOnce);
  return { fnmeshMs: median(fnmesh), rawMs: median(raw), invokes };
}

// --- exact counts: WaitGroup.done and Once ----------------------------------------------------------

async function waitGroupDoneCalls(tableName: string): Promise<number> {
  const wg = new WaitGroup({ client: dynamodb, tableName, name: `bench-${randomUUID().slice(0, 8)}` });
  await wg.add(10);
  counter.reset();
  for (let i = 0; i < 10; i++) await wg.done(`task-${i}`);
  recordWire('waitGroupDone', 10);
  return counter.total('DynamoDB') / 10;
}

async function onceCalls(tableName: string): Promise<number> {
  const once = new Once({ client: dynamodb, tableName });
  counter.reset();
  await once.do(`bench-${randomUUID()}`, async () => 42);
  recordWire('once', 1);
  return counter.total('DynamoDB');
}

// --- curves ---------------------------------------------------------------------------------------

interface ContentionRun {
  throughput: number;
  p50: number;
  p99: number;
  max: number;
}

function contentionRun(throughput: number, waits: number[]): ContentionRun {
  const sorted = [...waits].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { throughput, p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
}

/** Contenders in this process (separate Mutex objects on one client), each locking and unlocking `rounds` times. */
async function lockContention(tableName: string, contenders: number, rounds: number, fairness?: Fairness): Promise<ContentionRun> {
  const name = `bench-contended-${randomUUID().slice(0, 8)}`;
  const startedAt = performance.now();
  const waits = await Promise.all(
    Array.from({ length: contenders }, () =>
      lockRounds(new Mutex({ client: dynamodb, tableName, name, clockSkewMs: 200, ...(fairness ? { fairness } : {}) }), rounds),
    ),
  );
  return contentionRun(((contenders * rounds) / elapsed(startedAt)) * 1000, waits.flat());
}

/**
 * Starvation mode side by side: the same contenders on a fair ('fifo') and a polling Mutex, the
 * order alternating from run to run so drift in the machine's load hits both alike. `apart`: the
 * contenders are worker threads of their own (bench/lockContenders.ts), else this process's.
 */
async function lockFairness(tableName: string, contenders: number, rounds: number, run: number, apart?: ApartContenders) {
  const order: Fairness[] = run % 2 ? ['polling', 'fifo'] : ['fifo', 'polling'];
  const results = {} as Record<Fairness, ContentionRun>;
  for (const fairness of order) {
    if (!apart) results[fairness] = await lockContention(tableName, contenders, rounds, fairness);
    else {
      const { throughput, waits } = await apart.run(tableName, `bench-apart-${randomUUID().slice(0, 8)}`, fairness, rounds);
      results[fairness] = contentionRun(throughput, waits);
    }
  }
  return results;
}

/** The fairness ratios of a stage's runs: fifo / polling throughput, and each mode's p99 / p50 wait. */
function fairnessRatios(runs: Record<Fairness, ContentionRun>[]) {
  const tail = (fairness: Fairness) => ({
    ...ratioStat(runs.map((run) => [run[fairness].p99, run[fairness].p50])),
    p99WaitMs: stat(runs.map((run) => run[fairness].p99)),
    p50WaitMs: stat(runs.map((run) => run[fairness].p50)),
  });
  return {
    throughput: {
      ...ratioStat(runs.map((run) => [run.fifo.throughput, run.polling.throughput])),
      fifoPerSecond: stat(runs.map((run) => run.fifo.throughput)),
      pollingPerSecond: stat(runs.map((run) => run.polling.throughput)),
    },
    fifoTail: tail('fifo'),
    pollingTail: tail('polling'),
  };
}

async function fanOut(shards: number, tasks: number): Promise<number> {
  const runId = `bench-${randomUUID().slice(0, 8)}`;
  const channels = await Promise.all(
    Array.from({ length: shards }, async (_, i) => {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: resourceName('local', shardChannelName(i)) }));
      return new Channel<{ runId: string; key: string }>({
        sqs,
        dynamodb,
        tableName: MESH_TABLE_NAME,
        name: shardChannelName(i),
        queueUrl: QueueUrl!,
      });
    }),
  );
  const sharded = new ShardedChannel<{ runId: string; key: string }, Channel<{ runId: string; key: string }>>({ shards: channels });
  // While a shard queue still holds messages (visible or in flight: LocalStack's counts are
  // exact) the tasks are not all done: the run's partition is only counted once they are empty.
  // (A consistent COUNT Query reads every arrival so far: every 100 ms, it cost the local cloud
  // O(tasks) each time, competing with the workers it measures.)
  const queuesEmpty = async () => {
    for (const channel of channels) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: channel.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      if (Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) > 0) return false;
    }
    return true;
  };
  const startedAt = performance.now();
  await sharded.sendMany(Array.from({ length: tasks }, (_, i) => [`key-${i}`, { runId, key: `key-${i}` }] as const));
  for (;;) {
    if (!(await queuesEmpty())) {
      if (elapsed(startedAt) > 600_000) throw new Error(`fan-out over ${shards} shard(s): queues not empty after 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    let seen = 0;
    let start: Record<string, any> | undefined;
    do {
      const page = await dynamodb.send(
        new QueryCommand({
          TableName: MESH_TABLE_NAME,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: exampleKeys.run(runId) } },
          Select: 'COUNT',
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      seen += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    if (seen >= tasks) return elapsed(startedAt) / 1000;
    if (elapsed(startedAt) > 600_000) throw new Error(`fan-out over ${shards} shard(s): ${seen}/${tasks} after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One run through a bounded channel: one sender, one `range` receiver. `wake`: blocked senders
 * long-poll the channel's room queue; else they poll the meta item (no room queue).
 * @returns values per second, and calls per value (both sides, every request on the wire)
 */
async function boundedChannel(
  tableName: string,
  capacity: number,
  messages: number,
  wake: boolean,
): Promise<{ perSecond: number; sqs: number; dynamodb: number }> {
  const queue = await createQueue('bench-cap');
  const roomQueue = wake ? await createQueue('bench-room') : undefined;
  try {
    const channel = benchChannel(tableName, queue.queueUrl, {
      capacity,
      poll: { baseMs: 10, maxMs: 200 },
      ...(roomQueue ? { roomQueueUrl: roomQueue.queueUrl } : {}),
    });
    counter.reset();
    const startedAt = performance.now();
    const receiving = (async () => {
      let received = 0;
      for await (const _value of channel.range()) received++;
      return received;
    })();
    for (let i = 0; i < messages; i++) await channel.send(i);
    await channel.close();
    const received = await receiving;
    const perSecond = (messages / elapsed(startedAt)) * 1000;
    if (received !== messages) throw new Error(`bounded channel bench received ${received} of ${messages}`);
    return { perSecond, sqs: counter.total('SQS') / messages, dynamodb: counter.total('DynamoDB') / messages };
  } finally {
    await queue.remove();
    await roomQueue?.remove();
  }
}

/** A bounded channel's point: waking and polling side by side, the order alternating run by run. */
async function boundedChannelPoint(tableName: string, capacity: number, runs: number, messages: number) {
  const pairs = await repeat(runs, async (run) => {
    const first = await boundedChannel(tableName, capacity, messages, run % 2 === 0);
    const second = await boundedChannel(tableName, capacity, messages, run % 2 !== 0);
    return run % 2 === 0 ? { wake: first, poll: second } : { wake: second, poll: first };
  });
  const calls = (side: 'wake' | 'poll') => ({
    sqs: median(pairs.map((pair) => pair[side].sqs)),
    dynamodb: median(pairs.map((pair) => pair[side].dynamodb)),
  });
  return {
    capacity,
    messagesPerSecond: stat(pairs.map((pair) => pair.wake.perSecond)),
    polledPerSecond: stat(pairs.map((pair) => pair.poll.perSecond)),
    wakeVsPoll: ratioStat(pairs.map((pair) => [pair.wake.perSecond, pair.poll.perSecond])),
    callsPerValue: calls('wake'),
    polledCallsPerValue: calls('poll'),
  };
}

// --- hash ring vs the peers -------------------------------------------------------------------------

function lookupsPerSecond(lookup: (key: string) => unknown, keys: string[]): number {
  const startedAt = performance.now();
  let lookups = 0;
  while (elapsed(startedAt) < 300) {
    for (const key of keys) lookup(key);
    lookups += keys.length;
  }
  return (lookups / elapsed(startedAt)) * 1000;
}

type Owner = (key: string) => string | number;

function balance(owner: Owner, keys: string[], nodes: number): number {
  const loads = new Map<string | number, number>();
  for (const key of keys) {
    const node = owner(key);
    loads.set(node, (loads.get(node) ?? 0) + 1);
  }
  return Math.max(...loads.values()) / (keys.length / nodes);
}

function moved(before: Owner, after: Owner, keys: string[]): number {
  const was = keys.map(before);
  return (100 * keys.filter((key, i) => after(key) !== was[i]).length) / keys.length;
}

/** One ring's figures over 100 nodes: lookups, balance, and keys moved when a node joins or leaves. */
function ringFigures(rates: number[], owner: Owner, grown: Owner, shrunk: Owner, keys: string[]) {
  return {
    lookupsPerSecond: stat(rates),
    maxOverMean: balance(owner, keys, 100),
    movedOnAddPercent: moved(owner, grown, keys),
    movedOnRemovePercent: moved(owner, shrunk, keys),
  };
}

function hashRingComparison(keyCount: number, runs: number) {
  const nodes = Array.from({ length: 100 }, (_, i) => `node-${i}`);
  const keys = Array.from({ length: keyCount }, (_, i) => `key-${i}-${(i * 2654435761) % 1000003}`);
  const ours = () => new HashRing({ nodes });
  const peer = () => new HashRingPeer(nodes);
  const jumpOf = (buckets: number) => (key: string) => jumpHash(murmur3(key), buckets);
  const fnmeshRates: number[] = [];
  const peerRates: number[] = [];
  const jumpRates: number[] = [];
  const pairs: [number, number][] = [];
  for (let run = 0; run < runs; run++) {
    const a = ours();
    const b = peer();
    const ra = lookupsPerSecond((key) => a.get(key), keys);
    const rb = lookupsPerSecond((key) => b.get(key), keys);
    fnmeshRates.push(ra);
    peerRates.push(rb);
    jumpRates.push(lookupsPerSecond(jumpOf(100), keys));
    pairs.push([ra, rb]);
  }
  const a = ours();
  const grown = new HashRing({ nodes: [...nodes, 'node-100'] });
  const shrunk = new HashRing({ nodes: nodes.slice(1) });
  const b = peer();
  const bGrown = new HashRingPeer([...nodes, 'node-100']);
  const bShrunk = new HashRingPeer(nodes.slice(1));
  return {
    ratio: ratioStat(pairs),
    fnmeshRates: stat(fnmeshRates),
    peerRates: stat(peerRates),
    hashRing: {
      nodes: nodes.length,
      keys: keys.length,
      fnmesh: ringFigures(
        fnmeshRates,
        (key) => a.get(key),
        (key) => grown.get(key),
        (key) => shrunk.get(key),
        keys,
      ),
      hashring: ringFigures(
        peerRates,
        (key) => b.get(key),
        (key) => bGrown.get(key),
        (key) => bShrunk.get(key),
        keys,
      ),
      jump: {
        lookupsPerSecond: stat(jumpRates),
        maxOverMean: balance(jumpOf(100), keys, 100),
        movedOnAddPercent: moved(jumpOf(100), jumpOf(101), keys),
      },
    },
  };
}

// --- functions: bundle size, cold init vs warm invoke ---------------------------------------------

const SAMPLE_EVENTS: Record<string, unknown> = {
  ping: {},
  quoter: { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: { A: 6, B: 7 } },
  counter: { counter: 'bench', increments: 1 },
  square: { runId: 'bench', task: 2 },
};

/** Each sample function's bundle (its zip in `packageDir`, as deployed), cold init and warm invoke. */
async function functionFigures(packageDir: string, coldRuns: number, warmRuns: number) {
  const sizes = Object.fromEntries(
    readdirSync(packageDir)
      .filter((file) => file.endsWith('.zip'))
      .map((file) => [file.replace(/\.zip$/, ''), statSync(join(packageDir, file)).size]),
  );
  const figures = [];
  for (const [name, event] of Object.entries(SAMPLE_EVENTS)) {
    const functionName = resourceName('local', name);
    const payload = Buffer.from(JSON.stringify(event));
    const colds: number[] = [];
    const warms: number[] = [];
    for (let run = 0; run < coldRuns; run++) {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: functionName, Description: `bench cold start ${Date.now()}` }),
      );
      await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: functionName });
      const cold = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: payload, LogType: 'Tail' }));
      colds.push(Number(/Init Duration: ([\d.]+)/.exec(Buffer.from(cold.LogResult ?? '', 'base64').toString())?.[1] ?? Number.NaN));
      for (let warm = 0; warm < warmRuns; warm++) {
        const startedAt = performance.now();
        await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: payload }));
        warms.push(elapsed(startedAt));
      }
    }
    figures.push({ name, bundleBytes: sizes[name] ?? 0, coldInitMs: stat(colds.filter(Number.isFinite)), warmInvokeMs: stat(warms) });
  }
  return figures;
}

// --- substrate: each common call vs a bare Python round trip (bench/substrate.ts) ------------------

async function substrateFigures(tableName: string) {
  const floor = await startFloor(await ensureVenv(log));
  const queue = await createQueue('bench-substrate');
  try {
    const strict = await strictStatus();
    return await measureSubstrate({
      clients: { dynamodb, sqs, lambda },
      floor,
      tableName,
      queueUrl: queue.queueUrl,
      functionName: resourceName('local', FUNCTIONS.ping),
      runs: size.runs,
      iterations: size.substrateIterations,
      transactionWindowMs: strict?.enabled ? Number(strict.settings.transaction_window_ms ?? 0) : 0,
      log,
    });
  } finally {
    floor.stop();
    await queue.remove();
  }
}

// --- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  log(`fnmesh bench (${mode})`);
  await up({ log });
  const packageDir = mkdtempSync(join(tmpdir(), 'fnmesh-bench-package-'));
  const tableName = await createMeshTable('bench');
  try {
    // Packaged once: the stack is deployed from these artifacts, and they are the bundles measured.
    const packaged = await serverless(['package', '--stage', 'local', '--package', packageDir]);
    if (packaged.code !== 0) throw new Error(`serverless package failed:\n${packaged.stderr}`);
    const deploy = await serverless(['deploy', '--stage', 'local', '--package', packageDir]);
    if (deploy.code !== 0) throw new Error(`serverless deploy failed:\n${deploy.stderr}`);
    log('substrate: common calls vs a Python round trip');
    const substrate = await substrateFigures(tableName);
    log('channel throughput: fnmesh vs raw batched loop');
    const channelRuns = await repeat(size.runs, async () => {
      const ours = await fnmeshChannelRun(tableName, size.messages);
      const raw = await rawChannelRun(size.messages);
      return { ours, raw };
    });
    const unbatched = await unbatchedChannelCounts(tableName);
    log('lock + unlock: fnmesh vs raw conditional UpdateItems');
    const lockRuns = await repeat(size.runs, () => lockRun(tableName, size.lockIterations));
    log('rpc: fnmesh vs raw Invoke');
    const rpcRuns = await repeat(size.runs, () => rpcRun(size.rpcCalls));
    log('hash ring vs hashring and jump hash');
    const ring = hashRingComparison(size.ringKeys, size.runs);
    log('lock contention curve');
    const lockContentionCurve = [];
    for (const contenders of [1, 2, 4, 8, 16]) {
      const runs = await repeat(size.runs, () => lockContention(tableName, contenders, size.contenderRounds));
      lockContentionCurve.push({
        contenders,
        throughputPerSecond: stat(runs.map((run) => run.throughput)),
        p50WaitMs: stat(runs.map((run) => run.p50)),
        p99WaitMs: stat(runs.map((run) => run.p99)),
        maxWaitMs: stat(runs.map((run) => run.max)),
      });
    }
    log(`lock fairness: fifo (starvation mode) vs polling at ${FAIRNESS_CONTENDERS} contenders, in one process`);
    const fairness = fairnessRatios(
      await repeat(size.runs, (run) => lockFairness(tableName, FAIRNESS_CONTENDERS, size.fairnessRounds, run)),
    );
    log(`lock fairness: the same, each contender in a thread of its own`);
    const apart = await ApartContenders.start(FAIRNESS_CONTENDERS);
    const fairnessApart = await repeat(size.runs, (run) =>
      lockFairness(tableName, FAIRNESS_CONTENDERS, size.fairnessRounds, run, apart),
    ).finally(() => apart.stop());
    const fairApart = fairnessRatios(fairnessApart);
    log('fan-out through shard workers');
    const fanOutCurve: BenchResults['curves']['fanOut'] = [];
    for (const shards of [1, 2, 4]) {
      const seconds = stat(await repeat(size.fanOutRuns, () => fanOut(shards, size.fanOutTasks)));
      fanOutCurve.push({
        shards,
        tasks: size.fanOutTasks,
        seconds,
        speedup: (fanOutCurve[0]?.seconds.median ?? seconds.median) / seconds.median,
      });
    }
    log('bounded channel throughput vs capacity');
    const boundedCurve = [];
    for (const capacity of [1, 10, 100]) boundedCurve.push(await boundedChannelPoint(tableName, capacity, size.runs, size.boundedMessages));
    log('functions: bundle size, cold init vs warm invoke');
    const functions = await functionFigures(packageDir, size.coldRuns, size.warmRuns);

    const results: BenchResults = {
      schema: 1,
      mode,
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${osType()} ${release()}`,
        localstack: 'localstack-core 2026.3.0, host mode (fnmesh process executor, DynamoDB on moto)',
      },
      apiCallsPerOp: {
        channelSendReceiveAck: {
          sqs: median(channelRuns.map((run) => run.ours.sqs)),
          dynamodb: median(channelRuns.map((run) => run.ours.dynamodb)),
        },
        channelSendReceiveAckUnbatched: unbatched,
        lockUnlock: { dynamodb: median(lockRuns.map((run) => run.calls)) },
        waitGroupDone: { dynamodb: await waitGroupDoneCalls(tableName) },
        rpcCall: { lambda: median(rpcRuns.map((run) => run.invokes)) },
        once: { dynamodb: await onceCalls(tableName) },
      },
      wireCalls: wireCalls(),
      targets: TARGETS,
      ratios: {
        channelThroughputVsRaw: {
          ...ratioStat(channelRuns.map((run) => [run.ours.perSecond, run.raw])),
          fnmeshPerSecond: stat(channelRuns.map((run) => run.ours.perSecond)),
          rawPerSecond: stat(channelRuns.map((run) => run.raw)),
        },
        lockLatencyVsRaw: {
          ...ratioStat(lockRuns.map((run) => [run.fnmeshMs, run.rawMs])),
          fnmeshMs: stat(lockRuns.map((run) => run.fnmeshMs)),
          rawMs: stat(lockRuns.map((run) => run.rawMs)),
        },
        rpcLatencyVsRaw: {
          ...ratioStat(rpcRuns.map((run) => [run.fnmeshMs, run.rawMs])),
          fnmeshMs: stat(rpcRuns.map((run) => run.fnmeshMs)),
          rawMs: stat(rpcRuns.map((run) => run.rawMs)),
        },
        hashRingLookupsVsHashring: { ...ring.ratio, fnmeshPerSecond: ring.fnmeshRates, hashringPerSecond: ring.peerRates },
        fairLockThroughputVsPolling: fairness.throughput,
        fairLockP99OverP50: fairness.fifoTail,
        pollingLockP99OverP50: fairness.pollingTail,
        fairLockThroughputVsPollingApart: fairApart.throughput,
        fairLockP99OverP50Apart: fairApart.fifoTail,
        pollingLockP99OverP50Apart: fairApart.pollingTail,
      },
      curves: { lockContention: lockContentionCurve, fanOut: fanOutCurve, boundedChannel: boundedCurve },
      hashRing: ring.hashRing,
      functions,
      substrate,
    };
    const written = writeRunFile(output, 'latest.json', `${JSON.stringify(results, null, 2)}\n`, 'bench/results/latest.json');
    for (const docsDir of [output.dir, ...(output.publish ? [join(projectRoot, 'docs')] : [])]) {
      written.push((await writeReport(results, { docsDir })).markdownPath);
    }
    log(`${wroteLine(output, written)} (in ${results.durationSeconds.toFixed(0)} s)`);
    process.stdout.write(
      `${JSON.stringify({ apiCallsPerOp: results.apiCallsPerOp, ratios: Object.fromEntries(Object.entries(results.ratios).map(([key, value]) => [key, value.median])), substrateVsFloor: Object.fromEntries(Object.entries(substrate.calls).map(([key, value]) => [key, (value.ratioLessDesignedWait ?? value.ratio).median])) })}\n`,
    );
  } finally {
    await deleteMeshTable(tableName);
    rmSync(packageDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  log(`bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
