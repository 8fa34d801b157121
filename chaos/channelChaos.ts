/**
 * Channels under faults: `messages` values through one channel to `consumers` concurrent
 * `consume` loops whose handlers fail at `failureRate` (seeded) and whose SDK calls draw faults
 * (throttling, dropped connections, lost answers). One value in `poisonEvery` always fails until
 * "fixed": it must reach the dead-letter queue with its reason after `deadLetterAfter` deliveries;
 * a redrive then brings it back, and the fixed handler applies it.
 *
 * Each handler applies its value's effect idempotently (a conditional write keyed by the value), so
 * at-least-once delivery yields exactly-once effects. At the end every value's effect is counted:
 * lost = values without one, doubleApplied = effects applied more than once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { setMaxListeners } from 'node:events';
import { Channel } from '../lib/channel/Channel.ts';
import { seededRandom } from '../lib/faults/random.ts';
import { SdkFaults } from '../lib/faults/sdkFaults.ts';
import { sleep } from '../lib/internal/time.ts';
import { localConfig } from '../infra/localstack/clients.ts';
import { createQueue, sqs } from '../infra/localstack/resources.ts';
import { applyEffect, countEffects, effectTotals } from './effects.ts';

export interface ChannelChaosOptions {
  tableName: string;
  messages: number;
  consumers: number;
  /** Share of handler runs that throw (the value comes back later). */
  failureRate: number;
  /** One value in this many is poison: it fails until the redrive. */
  poisonEvery: number;
  /** Share of SDK requests of the consumers that draw a fault. */
  faultRate: number;
  seed: number;
  deadLetterAfter?: number;
  /** How long each phase may take before the run stops and counts what is missing as lost. @default 10 minutes */
  phaseTimeoutMs?: number;
}

export interface ChannelChaosResult {
  messages: number;
  handlerRuns: number;
  handlerFailures: number;
  sdkFaults: number;
  poison: number;
  deadLettered: number;
  deadLetteredWithReason: number;
  redriven: number;
  effects: number;
  lost: number;
  doubleApplied: number;
  consumerRestarts: number;
  /** A phase ran out of time (values still missing then are counted as lost). */
  timedOut: boolean;
  seconds: number;
}

interface Work {
  i: number;
  poison: boolean;
}

export async function runChannelChaos(options: ChannelChaosOptions): Promise<ChannelChaosResult> {
  const startedAt = Date.now();
  const random = seededRandom(options.seed);
  const deadLetterAfter = options.deadLetterAfter ?? 3;
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 10 * 60_000;
  let timedOut = false;
  const runId = `chaos-${options.seed}-${Date.now().toString(36)}`;
  const queue = await createQueue('chaos-ch', { visibilityTimeout: 10, maxReceiveCount: deadLetterAfter + 2 });
  // Every client of the run, the sender's included, draws faults from its own seeded stream.
  const faults = Array.from({ length: 5 }, (_, index) => new SdkFaults({ rate: options.faultRate, seed: options.seed * 10 + index }));
  const sqsWith = (fault: SdkFaults) => fault.attach(new SQSClient({ ...localConfig, maxAttempts: 5 }));
  const dynamodbWith = (fault: SdkFaults) => fault.attach(new DynamoDBClient({ ...localConfig, maxAttempts: 5 }));
  const channelOptions = { tableName: options.tableName, name: runId, queueUrl: queue.queueUrl, waitTimeSeconds: 1 };
  const sender = new Channel<Work>({ sqs: sqsWith(faults[0]!), dynamodb: dynamodbWith(faults[1]!), ...channelOptions });
  const consumer = new Channel<Work>({
    sqs: sqsWith(faults[2]!),
    dynamodb: dynamodbWith(faults[3]!),
    ...channelOptions,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
  });
  const effectClient = dynamodbWith(faults[4]!);

  let handlerRuns = 0;
  let handlerFailures = 0;
  let consumerRestarts = 0;
  let poisonFixed = false;
  const handle = async ({ i, poison }: Work) => {
    handlerRuns++;
    if ((poison && !poisonFixed) || random() < options.failureRate) {
      handlerFailures++;
      throw new Error(poison ? `poison value ${i}` : `injected handler failure on value ${i}`);
    }
    await applyEffect(effectClient, options.tableName, runId, i);
  };
  /** `consumers` loops until the channel drains or `stop` aborts; a loop that fails restarts. */
  const consumeAll = (stop: AbortSignal) => {
    setMaxListeners(100, stop); // every loop's calls in flight listen to it: many at once is expected
    return Promise.all(
      Array.from({ length: options.consumers }, async () => {
        while (!stop.aborted) {
          try {
            await consumer.consume(handle, { deadLetterAfter, signal: stop });
            return;
          } catch {
            if (stop.aborted) return;
            consumerRestarts++;
          }
        }
      }),
    );
  };

  try {
    const values = Array.from({ length: options.messages }, (_, i) => ({ i, poison: i % options.poisonEvery === 0 }));
    const poison = values.filter((value) => value.poison).length;
    await sender.sendMany(values);
    await sender.close();

    // Phase 1: everything but the poison is applied; the poison is dead-lettered.
    const firstStop = new AbortController();
    const first = consumeAll(firstStop.signal);
    const phaseStartedAt = Date.now();
    for (;;) {
      // Counting 10,000 effects is a paginated Query: every 2 s, not to load the local cloud.
      await sleep(2000);
      const [effects, depth] = await Promise.all([countEffects(options.tableName, runId), queueDepth(queue.deadLetterQueueUrl)]);
      // Every value applied or dead-lettered (the poison, and any value that failed
      // `deadLetterAfter` times by chance); duplicates of dead letters make this end early at
      // worst, and phase 2 drains whatever is left.
      if (depth >= poison && effects + depth >= options.messages) break;
      if (Date.now() - phaseStartedAt > phaseTimeoutMs) {
        timedOut = true;
        break;
      }
    }
    firstStop.abort();
    await first;
    await sleep(1500); // the stopped loops' last long polls run out on the server

    // Phase 2: the poison is "fixed", the dead letters redriven, and the channel drains. A value
    // can still be dead-lettered meanwhile (an injected failure on its third delivery, the receives
    // of copies and of a take-over included): what an operator does, the run redrives every 2 s
    // until the channel drains.
    const letters = await drainQueue(queue.deadLetterQueueUrl);
    await redrive(letters, queue.deadLetterQueueUrl, queue.queueUrl);
    poisonFixed = true;
    const lastStop = AbortSignal.timeout(phaseTimeoutMs);
    let drained = false;
    const draining = consumeAll(lastStop).finally(() => (drained = true));
    while (!drained) {
      await Promise.race([draining, sleep(2000)]);
      const more = await drainQueue(queue.deadLetterQueueUrl);
      await redrive(more, queue.deadLetterQueueUrl, queue.queueUrl);
      letters.push(...more);
    }
    timedOut ||= lastStop.aborted;
    const deadLetteredWithReason = letters.filter((letter) => letter.MessageAttributes?.['fnmesh-reason']?.StringValue).length;

    const { effects, doubleApplied } = await effectTotals(options.tableName, runId);
    return {
      messages: options.messages,
      handlerRuns,
      handlerFailures,
      sdkFaults: faults.reduce((sum, fault) => sum + fault.total, 0),
      poison,
      deadLettered: letters.length,
      deadLetteredWithReason,
      redriven: letters.length,
      effects,
      lost: options.messages - effects,
      doubleApplied,
      consumerRestarts,
      timedOut,
      seconds: (Date.now() - startedAt) / 1000,
    };
  } finally {
    await queue.remove();
  }
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Every message of a queue, received (and hidden for a minute) with its attributes. */
export async function drainQueue(queueUrl: string): Promise<Message[]> {
  const letters: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 60 }),
    );
    if (!Messages.length) return letters;
    letters.push(...Messages);
  }
}

/** What `fnmesh dlq --redrive` does: each letter back to the source queue, then out of the dead-letter queue. */
async function redrive(letters: Message[], deadLetterQueueUrl: string, queueUrl: string): Promise<void> {
  for (let start = 0; start < letters.length; start += 10) {
    const chunk = letters.slice(start, start + 10);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((letter, index) => ({ Id: String(index), MessageBody: letter.Body! })),
      }),
    );
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: deadLetterQueueUrl,
        Entries: chunk.map((letter, index) => ({ Id: String(index), ReceiptHandle: letter.ReceiptHandle! })),
      }),
    );
  }
}
