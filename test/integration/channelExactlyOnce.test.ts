/**
 * Channel values under AWS's delivery terms: copies (SQS is at-least-once) never reach two
 * bodies, and sends whose outcome is unknown, or whose sender dies, never leave a closed channel
 * undrainable nor lose a value silently (issue 12, defects 5 and 6).
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, type ChannelOptions } from '../../lib/channel/Channel.ts';
import { encodeEnvelope, envelopeOf } from '../../lib/channel/envelope.ts';
import { keys } from '../../lib/table/layout.ts';
import { ChannelSendError, ChannelValueHeldError } from '../../lib/errors.ts';
import { SdkFaults } from '../../lib/faults/sdkFaults.ts';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { countedClients, localConfig } from '../../infra/localstack/clients.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import {
  createMeshTable,
  createQueue,
  deleteMeshTable,
  dynamodb,
  sqs,
  type TestQueue,
  uniqueSuffix,
} from '../../infra/localstack/resources.ts';

let tableName: string;
const queues: TestQueue[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  tableName = await createMeshTable('exactly-once');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([deleteMeshTable(tableName), ...queues.map((queue) => queue.remove())]);
});

async function channel(options: Partial<ChannelOptions<number>> = {}) {
  const queue = await createQueue('once', { visibilityTimeout: 3 });
  queues.push(queue);
  const settings = { sqs, dynamodb, tableName, name: `ch-${uniqueSuffix()}`, queueUrl: queue.queueUrl, waitTimeSeconds: 1 };
  const participant = (more: Partial<ChannelOptions<number>> = {}) => new Channel<number>({ ...settings, ...options, ...more });
  return { ch: participant(), participant, queue };
}

/** A value counted in once and put in the queue twice, as SQS's at-least-once delivery may hand it out. */
async function sendWithCopy(ch: Channel<number>, queueUrl: string, value: number): Promise<string> {
  const [envelope] = await ch.sendMany([value]);
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
  expect(Messages).toHaveLength(1);
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: Messages[0]!.Body! }));
  return envelope!.id;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

it('a copy of a value a range body is working on is not handed to a concurrent receive()', async () => {
  const { ch, participant, queue } = await channel();
  await sendWithCopy(ch, queue.queueUrl, 1);
  await ch.close();
  const bodyStarted = deferred();
  const bodyMayEnd = deferred();
  const seen: string[] = [];

  const ranging = (async () => {
    for await (const value of participant().range({ batchSize: 1, signal: AbortSignal.timeout(30_000) })) {
      seen.push(`range ${value}`);
      bodyStarted.resolve();
      await bodyMayEnd.promise;
    }
  })();
  await bodyStarted.promise;
  // The copy is in the queue now; another receiver takes it while the body works.
  const receiving = participant().receive({ signal: AbortSignal.timeout(30_000) });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  bodyMayEnd.resolve();
  const received = await receiving;
  await ranging;
  if (received.ok) seen.push(`receive ${received.value}`);

  expect(seen).toEqual(['range 1']);
  expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
}, 60_000);

it('acceptRecord: two deliveries of one value at once run the handler once; the copy is skipped later', async () => {
  const { ch, participant } = await channel();
  const [envelope] = await ch.sendMany([5]);
  const record = { body: JSON.stringify({ fnmesh: 'envelope', v: 1, ...envelope, body: 5 }) };
  const release = deferred();
  let runs = 0;
  const handle = async () => {
    runs++;
    await release.promise;
  };

  const first = participant().acceptRecord(record, handle);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = participant().acceptRecord(record, handle);
  await expect(second).rejects.toBeInstanceOf(ChannelValueHeldError);
  release.resolve();

  expect(await first).toBe(true);
  expect(await participant().acceptRecord(record, handle)).toBe(false);
  expect(runs).toBe(1);
  expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
});

it("acceptRecords: a batch held and acked in one transaction each; copies, a value another holds, a failing handler and a malformed record each get acceptRecord's outcome", async () => {
  const counter = new CallCounter();
  const { ch, participant } = await channel();
  const counted = participant({ dynamodb: countedClients(counter).dynamodb });
  const envelopes = await ch.sendMany([1, 2, 3, 4, 5, 6]);
  const recordOf = (index: number) => ({ body: encodeEnvelope(envelopes[index]!) });
  // 6 was received before (its copy comes again); 5 is held by another receiver right now.
  expect(await participant().acceptRecord(recordOf(5), async () => undefined)).toBe(true);
  const release = deferred();
  const elsewhere = participant().acceptRecord(recordOf(4), () => release.promise);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const handled: number[] = [];
  const records = [recordOf(0), recordOf(1), recordOf(0), recordOf(2), recordOf(3), recordOf(4), recordOf(5), { body: 'not an envelope' }];
  counter.reset();
  const outcomes = await counted.acceptRecords(records, async (value) => {
    if (value === 4) throw new Error('boom');
    handled.push(value);
  });
  release.resolve();
  await elsewhere;

  expect(handled.sort()).toEqual([1, 2, 3]);
  expect(outcomes.slice(0, 2)).toEqual([
    { ok: true, handled: true },
    { ok: true, handled: true },
  ]);
  expect(outcomes[2]).toMatchObject({ ok: false, error: { name: 'ChannelValueHeldError' } }); // a second record of 1
  expect(outcomes[3]).toEqual({ ok: true, handled: true });
  expect(outcomes[4]).toMatchObject({ ok: false, error: { message: 'boom' } });
  expect(outcomes[5]).toMatchObject({ ok: false, error: { name: 'ChannelValueHeldError' } }); // 5, held elsewhere
  expect(outcomes[6]).toEqual({ ok: true, handled: false }); // 6, received before
  expect(outcomes[7]).toMatchObject({ ok: false, error: { name: 'MalformedEnvelopeError' } });
  // One hold (its refusals retried once without the refused ids) and one ack, not two per record.
  // (Attempts a transaction conflict refused are retried: strict mode has them, as AWS does.)
  const { attempts, conflicts } = counter.tally()['DynamoDB.TransactWriteItems']!;
  expect(attempts - conflicts).toBe(3);
  // 4 failed: its hold was given up, and it is handled on its next delivery.
  expect(await participant().acceptRecords([recordOf(3)], async () => undefined)).toEqual([{ ok: true, handled: true }]);
  expect(await ch.status()).toMatchObject({ sent: 6, received: 6, queued: 0 });
});

it('a handler that fails gives its hold up: the value is handled on its next delivery', async () => {
  const { ch, participant } = await channel();
  const [envelope] = await ch.sendMany([6]);
  const record = { body: JSON.stringify({ fnmesh: 'envelope', v: 1, ...envelope, body: 6 }) };

  await expect(
    participant().acceptRecord(record, async () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  let handled = 0;
  expect(await participant().acceptRecord(record, async () => void handled++)).toBe(true);

  expect(handled).toBe(1);
  expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
});

it('a send whose every answer was lost is abandoned, not lost: the caller is told, the closed channel drains, the copies are set aside', async () => {
  const { ch, participant, queue } = await channel();
  // SQS takes the message and the answer is lost, on every attempt (no SDK retries: maxAttempts 1).
  const faults = new SdkFaults({ rate: 1, seed: 1, kinds: ['ambiguous'], operations: ['SendMessage'] });
  const sender = participant({ sqs: faults.attach(new SQSClient({ ...localConfig, maxAttempts: 1 })) });

  const sending = await sender.send(9).catch((err: unknown) => err);

  expect(sending).toBeInstanceOf(ChannelSendError);
  expect((sending as ChannelSendError).failures).toEqual([expect.objectContaining({ code: 'OutcomeUnknown' })]);
  expect(faults.injected.ambiguous).toBeGreaterThan(0);
  expect(await ch.status()).toMatchObject({ sent: 1, abandoned: 1, queued: 0 });
  await ch.close();
  // The copies that did reach the queue are set aside with the reason, never delivered.
  const receiver = participant({ deadLetterQueueUrl: queue.deadLetterQueueUrl });
  expect((await receiver.receive({ signal: AbortSignal.timeout(20_000) })).ok).toBe(false);
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
    }),
  );
  // One dead letter per copy; a copy whose hold ended while it was set aside may leave two, with its id.
  const copies = new Set(Messages.map((letter) => letter.MessageAttributes!['fnmesh-message-id']!.StringValue));
  expect(copies.size).toBe(faults.injected.ambiguous);
  for (const letter of Messages) expect(letter.MessageAttributes!['fnmesh-reason']!.StringValue).toMatch(/abandoned by its sender/);
}, 60_000);

it('a sender SIGKILLed between count-in and send: once its lease ends, the closed channel drains, the value counted as abandoned', async () => {
  const { ch, queue } = await channel();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/helpers/stuckSender.ts',
      JSON.stringify({ tableName, name: ch.name, queueUrl: queue.queueUrl, sendLeaseMs: 2000 }),
    ],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) if (line === 'counted') break;
  child.kill('SIGKILL');
  await once(child, 'exit');
  await ch.sendMany([1, 2]);
  await ch.close();
  expect(await ch.status()).toMatchObject({ sent: 3, queued: 3 });

  const got: number[] = [];
  for await (const value of ch.range({ signal: AbortSignal.timeout(30_000) })) got.push(value);

  expect(got.sort()).toEqual([1, 2]);
  expect(await ch.status()).toMatchObject({ sent: 3, received: 2, abandoned: 1, queued: 0 });
}, 60_000);

it('copies side by side and three kinds of receiver at once: every value reaches exactly one body', async () => {
  const { ch, participant, queue } = await channel();
  const values = Array.from({ length: 30 }, (_, i) => i);
  // Each value counted in once and put in the queue twice in a row, as at-least-once delivery may
  // hand it out to two receivers at the same moment.
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: keys.channel(ch.name),
      UpdateExpression: 'ADD sent :count, queued :count',
      ExpressionAttributeValues: { ':count': { N: String(values.length) } },
    }),
  );
  for (const value of values) {
    const body = encodeEnvelope(envelopeOf(value, undefined));
    for (let copy = 0; copy < 2; copy++) await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }));
  }
  await ch.close();
  const seen: number[] = [];
  const slowly = async (value: number) => {
    seen.push(value);
    await new Promise((resolve) => setTimeout(resolve, 100));
  };

  await Promise.all([
    (async () => {
      for await (const value of participant().range({ batchSize: 1, signal: AbortSignal.timeout(60_000) })) await slowly(value);
    })(),
    participant().consume(slowly, { batchSize: 1, signal: AbortSignal.timeout(60_000) }),
    (async () => {
      const receiver = participant();
      for (;;) {
        const received = await receiver.receive({ signal: AbortSignal.timeout(60_000) });
        if (!received.ok) return;
        await slowly(received.value);
      }
    })(),
  ]);

  expect(seen.sort((a, b) => a - b)).toEqual(values);
  expect(await ch.status()).toMatchObject({ sent: 30, received: 30, queued: 0 });
}, 90_000);

it('a receive whose signal aborts as its claim is answered returns the value: counted out and handed to the caller, never to no one', async () => {
  const { participant } = await channel();
  const sender = participant();
  await sender.sendMany([41, 42]);
  for (const receiveHow of ['receive', 'receiveMany'] as const) {
    // The caller gives up at the worst moment: the claim transaction was applied, its answer is on its way.
    const controller = new AbortController();
    const client = countedClients(new CallCounter()).dynamodb;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const output = await next(args);
        if (context.commandName === 'TransactWriteItemsCommand') controller.abort();
        return output;
      },
      { step: 'finalizeRequest', name: 'abortAfterClaim' },
    );
    const receiver = participant({ dynamodb: client });

    const values =
      receiveHow === 'receive'
        ? [(await receiver.receive({ signal: controller.signal })).value]
        : (await receiver.receiveMany(1, { signal: controller.signal })).map((envelope) => envelope.body);

    expect(controller.signal.aborted).toBe(true);
    expect(values).toHaveLength(1);
  }
  const status = await sender.status();
  expect(status).toMatchObject({ sent: 2, received: 2, queued: 0 });
});
