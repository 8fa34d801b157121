/**
 * The worker pool under worker faults: tasks go on the stack's tasks channel; the deployed worker
 * function (SQS-triggered) throws or crashes on a seeded share of its invocations
 * (FNMESH_WORKER_FAULTS); SQS redelivers what failed. Every task must come back as exactly one
 * result on the results channel: lost = tasks without a result, doubleApplied = extra results.
 *
 * A task whose every delivery failed (the local stage's maxReceiveCount is 3: at a 30% fault rate
 * about one run in three has one) is dead-lettered by the queue, with its reason, not lost: the run
 * redrives the tasks dead-letter queue as an operator would (`fnmesh dlq redrive tasks`) and counts
 * what it brought back (`redriven`); those tasks must then come back exactly once like the rest.
 */
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { Channel } from '../lib/channel/Channel.ts';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { dynamodb, lambda, logs, sqs } from '../infra/localstack/resources.ts';
import { CHANNELS, FUNCTIONS, MESH_TABLE, resourceName } from '../infra/stack.ts';
import { setWorkerFaults } from './workerFaultConfig.ts';
import { redrive } from '../cli/commands/dlq.ts';
import { meshContext } from '../cli/context.ts';

const WORKER = resourceName('local', FUNCTIONS.worker);
/** How often the run redrives the tasks dead-letter queue while it waits for results. */
const REDRIVE_EVERY_MS = 2_000;

export interface PoolChaosOptions {
  tasks: number;
  faultRate: number;
  seed: number;
  /** How long to wait for every result before counting what is missing as lost. @default 10 minutes */
  timeoutMs?: number;
}

export interface PoolChaosResult {
  tasks: number;
  results: number;
  lost: number;
  doubleApplied: number;
  workerFaults: string;
  /** Faults the worker reported injecting (its log lines). */
  faultsInjected: number;
  /** Tasks the queue dead-lettered (every delivery failed) that the run redrove to the tasks channel. */
  redriven: number;
  /** Results were still missing when the time ran out (they are counted as lost). */
  timedOut: boolean;
  seconds: number;
}

const taskSchema = z.object({ runId: z.string(), task: z.number().int(), failOnce: z.boolean() });
const resultSchema = z.object({ runId: z.string(), task: z.number().int(), result: z.number().int() });

/** How many faults the worker function logged since `since` (CloudWatch Logs). */
async function injectedSince(since: number): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: `/aws/lambda/${WORKER}`,
        startTime: since,
        filterPattern: '"injected worker fault"',
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    count += page.events?.length ?? 0;
    nextToken = page.nextToken;
  } while (nextToken);
  return count;
}

export async function runPoolChaos(options: PoolChaosOptions): Promise<PoolChaosResult> {
  const startedAt = Date.now();
  const runId = `chaos-${randomUUID().slice(0, 8)}`;
  const queueUrl = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: resourceName('local', name) }))).QueueUrl!;
  const common = { sqs, dynamodb, tableName: resourceName('local', MESH_TABLE), waitTimeSeconds: 1 };
  const tasks = new Channel({ ...common, name: CHANNELS.tasks, queueUrl: await queueUrl(CHANNELS.tasks), schema: taskSchema });
  const results = new Channel({ ...common, name: CHANNELS.results, queueUrl: await queueUrl(CHANNELS.results), schema: resultSchema });
  const faults = { rate: options.faultRate, seed: options.seed, kinds: ['throw', 'crash'] as const };
  const restore = await setWorkerFaults(lambda, WORKER, { ...faults, kinds: [...faults.kinds] });
  const done = new AbortController(); // ends the redrive loop below, however the run ends
  try {
    await tasks.sendMany(Array.from({ length: options.tasks }, (_, task) => ({ runId, task, failOnce: false })));
    const seen = new Map<number, number>();
    const signal = AbortSignal.timeout(options.timeoutMs ?? 10 * 60_000);
    let received = 0;
    // The tasks dead-letter queue is redriven every 2 s while the run waits for results, beside
    // the receives (a receive waits for a value: a task dead-lettered while every other result is
    // in must be redriven without one). A receive is never cut short: one aborted after its claim
    // would lose the value it claimed.
    const ctx = meshContext('local');
    const redriving = (async () => {
      let moved = 0;
      const until = AbortSignal.any([signal, done.signal]);
      while (!until.aborted) {
        moved += (await redrive(ctx, CHANNELS.tasks)).document.moved;
        await delay(REDRIVE_EVERY_MS, undefined, { signal: until }).catch(() => undefined);
      }
      return moved;
    })();
    redriving.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    while (seen.size < options.tasks && !signal.aborted) {
      for (const { body } of await results.receiveMany(10, { signal }).catch((err: unknown) => {
        if (signal.aborted) return [];
        throw err;
      })) {
        if (body.runId !== runId) continue; // another run's result
        received++;
        seen.set(body.task, (seen.get(body.task) ?? 0) + 1);
      }
    }
    done.abort();
    const redriven = await redriving;
    // Late duplicates would come within a visibility timeout: look once more before counting.
    for (const { body } of await results.receiveMany(10, { signal: AbortSignal.timeout(3_000) }).catch(() => [])) {
      if (body.runId === runId) {
        received++;
        seen.set(body.task, (seen.get(body.task) ?? 0) + 1);
      }
    }
    return {
      faultsInjected: await injectedSince(startedAt),
      tasks: options.tasks,
      results: received,
      lost: options.tasks - seen.size,
      doubleApplied: received - seen.size,
      redriven,
      workerFaults: JSON.stringify(faults),
      timedOut: signal.aborted,
      seconds: (Date.now() - startedAt) / 1000,
    };
  } finally {
    done.abort();
    await restore();
  }
}
