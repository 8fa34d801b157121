/**
 * Sends under the failures that leave their outcome unknown, with copies of values racing
 * through three kinds of receiver (`range`, `consume`, `receive`):
 *
 *   lostAnswers    the sender's SQS client has no retries (`maxAttempts: 1`) and a share of its
 *                  SendMessage(Batch) calls are applied with their answers lost; its DynamoDB
 *                  calls draw every SDK fault
 *   killedSenders  sender processes SIGKILLed at seeded moments, between any two calls
 *
 * What must hold: every value its sender was told went is delivered (`lost` otherwise); no value
 * its sender was told did not go is delivered (`misreported`); no value is in two bodies at once
 * (`concurrentBodies`); the closed channel drains (within the send lease after the last sender
 * died), with its counts exact: sent = received + abandoned, received = values delivered.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Channel } from '../lib/channel/Channel.ts';
import { ChannelSendError } from '../lib/errors.ts';
import { randomInt, seededRandom } from '../lib/faults/random.ts';
import { SdkFaults } from '../lib/faults/sdkFaults.ts';
import { sleep } from '../lib/internal/time.ts';
import { localConfig } from '../infra/localstack/clients.ts';
import { createQueue, dynamodb, sqs, type TestQueue } from '../infra/localstack/resources.ts';
import { applyEffect, effectTotals } from './effects.ts';
import type { SenderProcessArgs } from './senderProcess.ts';
import { drainQueue } from './channelChaos.ts';

export interface SendChaosOptions {
  tableName: string;
  /** Values the lost-answers run sends (half by `send`, half by `sendMany`). */
  values: number;
  /** Share of the sender's SQS calls applied with their answer lost. */
  answerLossRate: number;
  /** Sender processes SIGKILLed, and values each tries to send. */
  killedSenders: number;
  valuesPerSender: number;
  seed: number;
  /** How long a run may take to drain before what is missing counts as lost. */
  timeoutMs: number;
}

export interface SendRunResult {
  values: number;
  /** What the senders were told: went, did not go (with its code), or nothing (killed, or a call that threw). */
  confirmed: number;
  reportedNotSent: number;
  unconfirmed: number;
  delivered: number;
  abandoned: number;
  /** Copies of abandoned values that reached the queue after all, set aside in the dead-letter queue. */
  abandonedCopiesSetAside: number;
  sdkFaults: number;
  lost: number;
  misreported: number;
  concurrentBodies: number;
  countsExact: boolean;
  drained: boolean;
  seconds: number;
}

export interface SendChaosResult {
  lostAnswers: SendRunResult;
  killedSenders: SendRunResult;
}

const SEND_LEASE_MS = 5000;
type Verdict = 'sent' | 'notSent' | 'unknown';

export async function runSendChaos(options: SendChaosOptions): Promise<SendChaosResult> {
  return {
    lostAnswers: await runLostAnswers(options),
    killedSenders: await runKilledSenders(options),
  };
}

async function runLostAnswers(options: SendChaosOptions): Promise<SendRunResult> {
  const startedAt = Date.now();
  const name = `chaos-send-${options.seed}-${Date.now().toString(36)}`;
  const queue = await createQueue('chaos-send', { visibilityTimeout: 10, maxReceiveCount: 10 });
  const sqsFaults = new SdkFaults({
    rate: options.answerLossRate,
    seed: options.seed,
    kinds: ['ambiguous'],
    operations: ['SendMessage', 'SendMessageBatch'],
  });
  const dynamodbFaults = new SdkFaults({ rate: 0.03, seed: options.seed + 1 });
  const sender = new Channel<{ i: number }>({
    sqs: sqsFaults.attach(new SQSClient({ ...localConfig, maxAttempts: 1 })),
    dynamodb: dynamodbFaults.attach(new DynamoDBClient({ ...localConfig, maxAttempts: 5 })),
    tableName: options.tableName,
    name,
    queueUrl: queue.queueUrl,
    sendLeaseMs: SEND_LEASE_MS,
  });
  try {
    const verdicts = new Map<number, Verdict>();
    const receivers = receiveAll(options.tableName, name, queue, options.timeoutMs);
    const singles = Array.from({ length: Math.floor(options.values / 2) }, (_, i) => i);
    const batched = Array.from({ length: options.values - singles.length }, (_, i) => singles.length + i);
    const lanes = 8;
    await Promise.all([
      ...Array.from({ length: lanes }, async (_, lane) => {
        for (let index = lane; index < singles.length; index += lanes) {
          const i = singles[index]!;
          verdicts.set(i, await verdictOf(sender.send({ i }).then(() => [])));
        }
      }),
      ...Array.from({ length: lanes / 2 }, async (_, lane) => {
        for (let start = lane * 25; start < batched.length; start += (lanes / 2) * 25) {
          const chunk = batched.slice(start, start + 25);
          const failed = await sender.sendMany(chunk.map((i) => ({ i }))).then(
            () => new Map<number, Verdict>(),
            (err: unknown) => failuresOf(err, chunk),
          );
          for (const i of chunk) verdicts.set(i, failed.get(i) ?? 'sent');
        }
      }),
    ]);
    await sender.close();
    const received = await receivers;
    return await judge(options.tableName, name, queue, verdicts, received, sqsFaults.total + dynamodbFaults.total, startedAt);
  } finally {
    await queue.remove();
  }
}

async function runKilledSenders(options: SendChaosOptions): Promise<SendRunResult> {
  const startedAt = Date.now();
  const random = seededRandom(options.seed * 7 + 3);
  const name = `chaos-kill-${options.seed}-${Date.now().toString(36)}`;
  const queue = await createQueue('chaos-kill', { visibilityTimeout: 10, maxReceiveCount: 10 });
  try {
    const verdicts = new Map<number, Verdict>();
    const receivers = receiveAll(options.tableName, name, queue, options.timeoutMs);
    const senderScript = fileURLToPath(new URL('./senderProcess.ts', import.meta.url));
    await Promise.all(
      Array.from({ length: options.killedSenders }, async (_, index) => {
        const from = index * options.valuesPerSender;
        for (let i = from; i < from + options.valuesPerSender; i++) verdicts.set(i, 'unknown');
        const args: SenderProcessArgs = {
          tableName: options.tableName,
          name,
          queueUrl: queue.queueUrl,
          from,
          to: from + options.valuesPerSender,
          sendLeaseMs: SEND_LEASE_MS,
        };
        const child = spawn(process.execPath, ['--import', 'tsx', senderScript, JSON.stringify(args)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const exited = once(child, 'exit');
        // Killed after a seeded number of its sends were confirmed: anywhere in the next send.
        const killAfter = randomInt(random, 1, Math.max(1, options.valuesPerSender - 1));
        const killDelayMs = randomInt(random, 0, 40);
        let confirmed = 0;
        for await (const line of createInterface({ input: child.stdout! })) {
          const report = JSON.parse(line) as { sent?: number; failed?: number };
          if (report.sent !== undefined) verdicts.set(report.sent, 'sent');
          if (report.failed !== undefined) verdicts.set(report.failed, 'notSent');
          if (++confirmed === killAfter) setTimeout(() => child.kill('SIGKILL'), killDelayMs);
        }
        await exited;
      }),
    );
    const closer = new Channel({ sqs, dynamodb, tableName: options.tableName, name, queueUrl: queue.queueUrl });
    await closer.close();
    const closedAt = Date.now();
    const received = await receivers;
    const result = await judge(options.tableName, name, queue, verdicts, received, 0, startedAt);
    return { ...result, drained: result.drained && received.endedAt - closedAt < SEND_LEASE_MS + options.timeoutMs };
  } finally {
    await queue.remove();
  }
}

/** What a send that threw says of its values: each one reported, or all unknown. */
async function verdictOf(sending: Promise<unknown>): Promise<Verdict> {
  try {
    await sending;
    return 'sent';
  } catch (err) {
    return err instanceof ChannelSendError ? 'notSent' : 'unknown';
  }
}

function failuresOf(err: unknown, chunk: number[]): Map<number, Verdict> {
  // sendMany: a ChannelSendError lists the values that did not go (by their index in the call);
  // anything else leaves every value of the chunk unknown.
  const verdicts = new Map<number, Verdict>();
  if (!(err instanceof ChannelSendError)) {
    for (const i of chunk) verdicts.set(i, 'unknown');
    return verdicts;
  }
  for (const failure of err.failures) verdicts.set(chunk[failure.index]!, 'notSent');
  return verdicts;
}

interface Received {
  concurrentBodies: number;
  drained: boolean;
  endedAt: number;
}

/** Three kinds of receiver on the channel until it is closed and drained (or the time is up). */
async function receiveAll(tableName: string, name: string, queue: TestQueue, timeoutMs: number): Promise<Received> {
  const stop = AbortSignal.timeout(timeoutMs);
  setMaxListeners(100, stop);
  const participant = () =>
    new Channel<{ i: number }>({
      sqs,
      dynamodb,
      tableName,
      name,
      queueUrl: queue.queueUrl,
      waitTimeSeconds: 1,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
    });
  const inBody = new Set<number>();
  let concurrentBodies = 0;
  const body = async ({ i }: { i: number }) => {
    if (inBody.has(i)) concurrentBodies++;
    inBody.add(i);
    try {
      await applyEffect(dynamodb, tableName, name, i);
      await sleep(5);
    } finally {
      inBody.delete(i);
    }
  };
  const results = await Promise.allSettled([
    (async () => {
      for await (const value of participant().range({ batchSize: 5, signal: stop })) await body(value);
    })(),
    participant().consume(body, { batchSize: 3, signal: stop }),
    (async () => {
      const receiver = participant();
      for (;;) {
        const received = await receiver.receive({ signal: stop });
        if (!received.ok) return;
        await body(received.value);
      }
    })(),
  ]);
  return { concurrentBodies, drained: results.every((result) => result.status === 'fulfilled'), endedAt: Date.now() };
}

async function judge(
  tableName: string,
  name: string,
  queue: TestQueue,
  verdicts: Map<number, Verdict>,
  received: Received,
  sdkFaults: number,
  startedAt: number,
): Promise<SendRunResult> {
  const delivered = new Set<number>();
  const { effects } = await effectTotals(tableName, name, (sk) => delivered.add(Number(sk)));
  const status = await new Channel({ sqs, dynamodb, tableName, name, queueUrl: queue.queueUrl }).status();
  const letters = await drainQueue(queue.deadLetterQueueUrl);
  const count = (verdict: Verdict) => [...verdicts.values()].filter((each) => each === verdict).length;
  return {
    values: verdicts.size,
    confirmed: count('sent'),
    reportedNotSent: count('notSent'),
    unconfirmed: count('unknown'),
    delivered: effects,
    abandoned: status.abandoned,
    abandonedCopiesSetAside: letters.filter((letter) =>
      letter.MessageAttributes?.['fnmesh-reason']?.StringValue?.startsWith('abandoned by its sender'),
    ).length,
    sdkFaults,
    lost: [...verdicts].filter(([i, verdict]) => verdict === 'sent' && !delivered.has(i)).length,
    misreported: [...verdicts].filter(([i, verdict]) => verdict === 'notSent' && delivered.has(i)).length,
    concurrentBodies: received.concurrentBodies,
    countsExact: status.queued === 0 && status.sent === status.received + status.abandoned && status.received === effects,
    drained: received.drained,
    seconds: (Date.now() - startedAt) / 1000,
  };
}
