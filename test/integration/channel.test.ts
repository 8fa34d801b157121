/** Channel<T> on SQS + the mesh table: send/receive/range, exact close and drain, capacity, interop. */
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Channel, type ChannelOptions } from '../../lib/channel/Channel.ts';
import {
  ChannelCapacityError,
  ChannelClosedError,
  ChannelValueHeldError,
  InvalidInputError,
  ItemFormatError,
  MeshAbortError,
  MeshConfigError,
  PayloadTooLargeError,
} from '../../lib/errors.ts';
import { SdkFaults } from '../../lib/faults/sdkFaults.ts';
import { keys } from '../../lib/table/layout.ts';
import { decodeEnvelope } from '../../lib/channel/envelope.ts';
import { ChannelLedger } from '../../lib/channel/ledger.ts';
import { countedClients, localConfig } from '../../infra/localstack/clients.ts';
import {
  createMeshTable,
  createQueue,
  deleteMeshTable,
  dynamodb,
  sqs,
  type TestQueue,
  uniqueSuffix,
} from '../../infra/localstack/resources.ts';
import { CallCounter, refusalOf } from '../../lib/faults/callCounter.ts';
import { eventually } from '../helpers/eventually.ts';

let tableName: string;
const queues: TestQueue[] = [];

beforeAll(async () => {
  tableName = await createMeshTable('channel');
});

afterAll(async () => {
  await Promise.all([deleteMeshTable(tableName), ...queues.map((queue) => queue.remove())]);
});

async function channel<T>(
  options: Partial<ChannelOptions<T>> & { fifo?: boolean; visibilityTimeout?: number; maxReceiveCount?: number } = {},
) {
  const queue = await createQueue('chan', {
    ...(options.fifo ? { fifo: true } : {}),
    visibilityTimeout: options.visibilityTimeout ?? 5,
    ...(options.maxReceiveCount ? { maxReceiveCount: options.maxReceiveCount } : {}),
  });
  queues.push(queue);
  const make = () =>
    new Channel<T>({ sqs, dynamodb, tableName, name: `ch-${uniqueSuffix()}`, queueUrl: queue.queueUrl, waitTimeSeconds: 1, ...options });
  const first = make();
  // Several participants of one channel: same name and queue, separate objects (and clients).
  const another = (client: DynamoDBClient = dynamodb) =>
    new Channel<T>({ sqs, dynamodb: client, tableName, name: first.name, queueUrl: queue.queueUrl, waitTimeSeconds: 1, ...options });
  return { ch: first, another, queue };
}

/** Another participant of `ch`'s channel that sets values aside in its queue's dead-letter queue. */
function withDeadLetters<T>(ch: Channel<T>, queue: TestQueue, options: Partial<ChannelOptions<T>> = {}): Channel<T> {
  return new Channel<T>({
    sqs,
    dynamodb,
    tableName,
    name: ch.name,
    queueUrl: queue.queueUrl,
    waitTimeSeconds: 1,
    deadLetterQueueUrl: queue.deadLetterQueueUrl,
    ...options,
  });
}

/** A DynamoDB client whose first `operation` is applied and its answer lost (the SDK then retries it). */
function losingFirstAnswer(operation: string, counter?: CallCounter) {
  const faults = new SdkFaults({ rate: 1, seed: 1, kinds: ['ambiguous'], operations: [operation], limit: 1 });
  const client = new DynamoDBClient(localConfig);
  return { faults, client: faults.attach(counter ? counter.attach(client, 'DynamoDB') : client) };
}

const point = z.object({ x: z.number(), y: z.number() });

/** The bodies of the messages still in a queue (each hidden for a minute once seen). */
async function leftInQueue(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }),
    );
    if (!Messages.length) return bodies;
    bodies.push(...Messages.map((message) => message.Body!));
  }
}

/** What a sender in another language does first (docs/wire-format.md): count one value in. */
async function countInAsAnotherSender(channelName: string): Promise<void> {
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: keys.channel(channelName),
      UpdateExpression: 'ADD sent :one, queued :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    }),
  );
}

describe('Channel', () => {
  it('sends and receives a value, with its envelope; len counts what is in the channel', async () => {
    const { ch } = await channel<{ x: number; y: number }>({ schema: point });

    const sent = await ch.send({ x: 1, y: 2 });
    expect(await ch.len()).toBe(1);
    const received = await ch.receive();

    expect(received).toMatchObject({ ok: true, value: { x: 1, y: 2 } });
    expect(received.envelope?.id).toBe(sent.id);
    expect(received.envelope?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(await ch.len()).toBe(0);
  });

  it('checks values against the schema at run time, before any call', async () => {
    const { ch } = await channel<{ x: number; y: number }>({ schema: point });

    const { ch: plain } = await channel<string>();

    await expect(ch.send({ x: 'one', y: 2 } as never)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(plain.send('x'.repeat(300_000))).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect((await ch.status()).sent).toBe(0);
    expect((await plain.status()).sent).toBe(0);
  });

  it('closes exactly: send after close and double close fail; 3 receivers drain everything 3 senders sent, once, then get ok: false', async () => {
    const { ch, another } = await channel<number>();
    const senders = [0, 1, 2].map(() => another());
    const receivers = [0, 1, 2].map(() => another());
    const received: number[][] = [[], [], []];
    const finished: boolean[] = [false, false, false];
    const receiving = receivers.map(async (receiver, r) => {
      for (;;) {
        const { ok, value } = await receiver.receive({ signal: AbortSignal.timeout(60_000) });
        if (!ok) {
          finished[r] = true;
          return;
        }
        received[r]!.push(value);
      }
    });

    await Promise.all(
      senders.map(async (sender, s) => {
        for (let i = 0; i < 10; i++) await sender.send(s * 100 + i);
        await sender.sendMany(Array.from({ length: 12 }, (_, i) => s * 100 + 50 + i));
      }),
    );
    await ch.close();
    await Promise.all(receiving);

    const all = received.flat().sort((a, b) => a - b);
    const expected = [0, 1, 2]
      .flatMap((s) => [...Array.from({ length: 10 }, (_, i) => s * 100 + i), ...Array.from({ length: 12 }, (_, i) => s * 100 + 50 + i)])
      .sort((a, b) => a - b);
    expect(all).toEqual(expected); // every value once: none lost, none twice
    expect(finished).toEqual([true, true, true]);
    await expect(ch.send(1)).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(ch.close()).rejects.toBeInstanceOf(ChannelClosedError);
    expect(await ch.status()).toMatchObject({ sent: 66, received: 66, queued: 0, closed: true });
  });

  it('ranges over values, acking each after its loop body; a body that throws gets its value again', async () => {
    const { ch } = await channel<number>({ visibilityTimeout: 30 });
    await ch.sendMany([1, 2, 3, 4, 5]);
    await ch.close();
    const seen: number[] = [];
    let failedOnce = false;

    const firstPass = (async () => {
      for await (const value of ch) {
        if (value === 3 && !failedOnce) {
          failedOnce = true;
          throw new Error('body failed on 3');
        }
        seen.push(value);
      }
    })();
    await expect(firstPass).rejects.toThrow('body failed on 3');
    for await (const value of ch.range({ signal: AbortSignal.timeout(30_000) })) seen.push(value);

    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5]); // 3 came back at once (not after 30 s), each acked once
    expect(await ch.status()).toMatchObject({ sent: 5, received: 5, queued: 0 });
  });

  it('ranges over many values in large pipelined batches: each once, the queue left empty, few coordination calls', async () => {
    const { ch, queue } = await channel<number>();
    const counter = new CallCounter();
    const counted = countedClients(counter);
    const reader = new Channel<number>({ ...counted, tableName, name: ch.name, queueUrl: queue.queueUrl, waitTimeSeconds: 1 });
    const values = Array.from({ length: 250 }, (_, i) => i);
    const envelopes = await ch.sendMany(values);
    await ch.close();

    const got: number[] = [];
    for await (const value of reader.range({ signal: AbortSignal.timeout(60_000) })) got.push(value);

    expect(got.sort((a, b) => a - b)).toEqual(values);
    expect(await ch.status()).toMatchObject({ sent: 250, received: 250, queued: 0 });
    // Nothing undelivered is left: whatever is still in the queue is a copy of a value received
    // (SQS may hand a message out again, and strict mode makes it do so).
    expect(await queue.depth()).toMatchObject({ inFlight: 0 });
    const sentIds = new Set(envelopes.map((envelope) => envelope.id));
    for (const body of await leftInQueue(queue.queueUrl)) expect(sentIds).toContain(decodeEnvelope(body).id);
    // Per batch of up to 50: one lookup (markers and counts), one hold, one ack — not one of each
    // per 10. (The hold, which keeps a copy from reaching a second body, is the third.)
    expect(counter.total('DynamoDB') / values.length).toBeLessThan(0.15);
    // Nothing but receives and deletes, about one of each per 10 values (the drain is seen in the last batch).
    expect(counter.total('SQS') / values.length).toBeLessThanOrEqual(0.24);
  });

  it('a range left early puts back at once the batch it had fetched ahead, with the one it was on', async () => {
    const { ch } = await channel<number>({ visibilityTimeout: 60 });
    await ch.sendMany(Array.from({ length: 40 }, (_, i) => i));
    await ch.close();

    for await (const value of ch.range()) {
      expect(value).toBeTypeOf('number');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the next batch is fetched meanwhile
      break;
    }
    const got: number[] = [];
    // Had anything stayed invisible, this would wait out the 60 s visibility timeout and abort.
    for await (const value of ch.range({ signal: AbortSignal.timeout(15_000) })) got.push(value);

    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("a body that outlasts its hold leaves the value's message to the receiver that took it over: that receiver's failure brings the value back", async () => {
    // Holds last the queue's visibility timeout, 2 s; the first body works until the second
    // receiver's body has the value, so its hold runs out and its ack is refused. (The second
    // receiver may see the message while the first hold ends and put it back: the queue's redrive
    // counts those receives too.)
    const { ch, another } = await channel<number>({ visibilityTimeout: 2, maxReceiveCount: 10 });
    await ch.send(7);
    await ch.close();
    let firstHasIt!: () => void;
    const first = new Promise<void>((resolve) => (firstHasIt = resolve));
    let secondHasIt!: () => void;
    const second = new Promise<void>((resolve) => (secondHasIt = resolve));
    const firstDone = ch.consume(
      () => {
        firstHasIt();
        return second;
      },
      { signal: AbortSignal.timeout(30_000) },
    );
    await first;
    let secondRuns = 0;
    const secondDone = another().consume(
      async () => {
        secondRuns++;
        if (secondRuns > 1) return;
        secondHasIt();
        await firstDone.catch(() => undefined); // the first receiver's ack (refused) is settled
        throw new Error('the second body fails');
      },
      { signal: AbortSignal.timeout(30_000) },
    );

    // Had the first receiver deleted the message on its refused ack, the value could not come
    // back after the second body failed: the channel would never drain, and the wait would abort.
    expect(await firstDone).toEqual({ handled: 1, failed: 0, deadLettered: 0 });
    expect(await secondDone).toEqual({ handled: 1, failed: 1, deadLettered: 0 });
    expect(secondRuns).toBe(2);
    expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
  });

  it('a batch of slow bodies hands out no value after half its hold: each value runs once, in one body at a time, and the rest is shared', async () => {
    // Holds last 3 s and each body takes 1 s. Handed all 8 values of one batch, the first receiver
    // would reach the last ones 5 to 7 s after their holds began, and its acks (after the batch)
    // would come later still: the second receiver could take every value over meanwhile, and run
    // it again, or at the same time. The first receiver gives back what it cannot start in time.
    const { ch, another } = await channel<number>({ visibilityTimeout: 3, maxReceiveCount: 10 });
    const values = [1, 2, 3, 4, 5, 6, 7, 8];
    await ch.sendMany(values);
    await ch.close();
    const inBody = new Map<number, number>();
    const runs: number[] = [];
    let overlaps = 0;
    let firstInBody!: () => void;
    const firstStarted = new Promise<void>((resolve) => (firstInBody = resolve));
    const body = async (value: number) => {
      firstInBody();
      const now = (inBody.get(value) ?? 0) + 1;
      inBody.set(value, now);
      if (now > 1) overlaps++;
      runs.push(value);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      inBody.set(value, inBody.get(value)! - 1);
    };
    const first = ch.consume(body, { signal: AbortSignal.timeout(60_000) });
    await firstStarted; // the first receiver holds the whole batch
    const second = another().consume(body, { signal: AbortSignal.timeout(60_000) });
    const [firstSummary, secondSummary] = await Promise.all([first, second]);

    expect(overlaps).toBe(0);
    // Each value's body ran once: none outlived its hold, so none was taken over.
    expect([...runs].sort((a, b) => a - b)).toEqual(values);
    expect(firstSummary.handled + secondSummary.handled).toBe(values.length);
    expect(secondSummary.handled).toBeGreaterThan(0); // the values given back were shared
    expect(await ch.status()).toMatchObject({ sent: 8, received: 8, queued: 0 });
  });
  it('consume: a failing handler gets its value again later; after deadLetterAfter deliveries it is dead-lettered with the reason, and a redrive brings it back', async () => {
    const { ch, queue } = await channel<number>({ visibilityTimeout: 30 });
    const worker = withDeadLetters<number>(ch, queue);
    await ch.sendMany([1, 2, 3, 4]);
    await ch.close();
    const calls = new Map<number, number>();
    const errors: number[] = [];
    const handle = async (value: number) => {
      calls.set(value, (calls.get(value) ?? 0) + 1);
      if (value === 2 && calls.get(2) === 1) throw new Error('transient failure'); // comes back after 1 s
      if (value === 4) throw new Error('poison value 4');
    };

    // The channel cannot drain while 4 is dead-lettered (it is still counted): stop once it is there
    // and the other three are received. (2 and 4 fail together and come back together, but their
    // second deliveries may come in different batches: 4's letter alone does not mean 2 is done.)
    const stop = new AbortController();
    const consuming = worker
      .consume(handle, { deadLetterAfter: 2, signal: stop.signal, onError: (_error, envelope) => errors.push(envelope.body) })
      .catch((err: Error) => err);
    const letters = await eventually(
      async () => {
        if ((await ch.status()).received < 3) return undefined;
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue.deadLetterQueueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
        );
        return Messages.length ? Messages : undefined;
      },
      'values 1, 2 and 3 received, and value 4 in the dead-letter queue',
      20_000,
    );
    stop.abort();
    expect((await consuming) as Error).toBeInstanceOf(MeshAbortError);

    expect(letters.map((letter) => JSON.parse(letter.Body!).body)).toEqual([4]);
    expect(letters[0]!.MessageAttributes?.['fnmesh-reason']?.StringValue).toMatch(/handler failed on delivery 2: Error: poison value 4/);
    expect(Object.fromEntries(calls)).toEqual({ 1: 1, 2: 2, 3: 1, 4: 2 });
    expect(errors.sort()).toEqual([2, 4, 4]);
    expect(await ch.status()).toMatchObject({ received: 3, queued: 1, closed: true });

    // Redrive (what `fnmesh dlq --redrive` does), with the bug fixed: the channel drains. (First the
    // aborted loop's last long poll runs out on the server: a message it took would stay hidden.)
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: letters[0]!.Body! }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.deadLetterQueueUrl, ReceiptHandle: letters[0]!.ReceiptHandle! }));
    const summary = await worker.consume(async () => undefined, { signal: AbortSignal.timeout(20_000) });
    expect(summary).toEqual({ handled: 1, failed: 0, deadLettered: 0 });
    expect(await ch.status()).toMatchObject({ received: 4, queued: 0 });
  });

  it('a claim whose answer was lost still hands the value over, counted out once', async () => {
    const { ch, another } = await channel<number>();
    // The claim transaction is applied, then its answer lost: the SDK retries it with the same
    // client request token (and, on a backend without tokens, the markers name their claim).
    const { faults, client } = losingFirstAnswer('TransactWriteItems');
    const receiver = another(client);
    await ch.send(42);

    const received = await receiver.receive({ signal: AbortSignal.timeout(10_000) });

    expect(received).toMatchObject({ ok: true, value: 42 });
    expect(faults.injected.ambiguous).toBe(1);
    expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
  });

  it('a count-in whose answer was lost is counted once: the retry carries the same client request token', async () => {
    const { ch, another } = await channel<number>();
    // The first count-in is applied and its answer lost; the SDK retries it with the same token.
    const { faults, client } = losingFirstAnswer('TransactWriteItems');
    const sender = another(client);

    await sender.sendMany([1, 2, 3]);
    await sender.close();

    expect(faults.injected.ambiguous).toBe(1);
    expect(await ch.status()).toMatchObject({ sent: 3, queued: 3 });
    const got: number[] = [];
    for await (const value of ch.range({ signal: AbortSignal.timeout(15_000) })) got.push(value);
    expect(got.sort()).toEqual([1, 2, 3]); // and the closed channel drained
  });

  it('a hold of one value is a PutItem, not a transaction; when its answer was lost, the retry knows the hold as its own', async () => {
    const { ch, another } = await channel<number>();
    // The hold (one value: a PutItem alone) is applied, then its answer lost. The SDK's retry has no
    // token to be recognised by: its condition refuses it, and the marker it returns is this hold.
    const counter = new CallCounter();
    const { faults, client } = losingFirstAnswer('PutItem', counter);
    const receiver = another(client);
    await ch.send(42);
    await ch.close();

    const got: number[] = [];
    for await (const value of receiver.range({ signal: AbortSignal.timeout(15_000) })) got.push(value);

    expect(got).toEqual([42]); // handed over once, and the closed channel drained
    expect(faults.injected.ambiguous).toBe(1);
    expect(counter.tally()['DynamoDB.PutItem']?.attempts).toBe(2); // the hold, and its retry
    expect(counter.tally()['DynamoDB.TransactWriteItems']?.attempts).toBe(1); // the ack alone
    expect(await ch.status()).toMatchObject({ sent: 1, received: 1, queued: 0 });
  });

  it('a range whose read of the counts fails beside its hold of one value gives the hold up at once, and says why', async () => {
    const { ch, another } = await channel<number>();
    // Mocked, as no real component can fail one read and not the next: a GetItem sent while a
    // PutItem (the hold) is on its way fails; other reads (an empty poll's drain check) go through.
    const client = new DynamoDBClient(localConfig);
    let holding = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') holding = true;
        if (context.commandName === 'GetItemCommand') {
          await new Promise((resolve) => setTimeout(resolve, 50)); // the hold beside it has started
          if (holding) throw Object.assign(new Error('the counts could not be read'), { name: 'InternalServerError', $fault: 'server' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failReadBesideHold' },
    );
    const receiver = another(client);
    const sent = await ch.send(5);

    const err = await (async () => {
      for await (const _value of receiver.range({ signal: AbortSignal.timeout(10_000) })) throw new Error('the body must not run');
    })().catch((error: unknown) => error);

    expect((err as Error).message).toBe('the counts could not be read');
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: keys.channelMessage(ch.name, sent.id), ConsistentRead: true }),
    );
    expect(Item?.state?.S).toBe('held');
    expect(Item?.heldUntil?.N).toBe('0'); // released: free for the next receiver now, not after the hold
    expect(await ch.status()).toMatchObject({ sent: 1, received: 0, queued: 1 });
  });

  it('a settle whose answer was lost (its DeleteItem applied) reports the send as sent', async () => {
    const { ch, another } = await channel<number>();
    const { faults, client } = losingFirstAnswer('DeleteItem');
    const sender = another(client);

    await sender.send(7); // rejects if any value were reported not sent

    expect(faults.injected.ambiguous).toBe(1);
    expect(await ch.status()).toMatchObject({ sent: 1, abandoned: 0, queued: 1 });
    expect(await ch.receive({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true, value: 7 });
  });

  it('keeps its capacity with the channel: a participant with another capacity, or none, is refused and cannot overfill it', async () => {
    const { ch } = await channel<number>({ capacity: 3 });
    await ch.sendMany([1, 2, 3]);
    const unbounded = new Channel<number>({ sqs, dynamodb, tableName, name: ch.name, queueUrl: ch.queueUrl, waitTimeSeconds: 1 });
    const err = await unbounded.sendMany([4, 5]).catch((error: unknown) => error);
    expect(err).toBeInstanceOf(ChannelCapacityError);
    expect(err).toMatchObject({ capacity: undefined, storedCapacity: 3 });
    expect(await ch.len()).toBe(3); // never overfilled

    const { ch: open } = await channel<number>();
    await open.send(1);
    const bounded = new Channel<number>({ sqs, dynamodb, tableName, name: open.name, queueUrl: open.queueUrl, capacity: 5 });
    await expect(bounded.send(2)).rejects.toMatchObject({ name: 'ChannelCapacityError', capacity: 5, storedCapacity: undefined });
  });

  it('refuses a meta item of a newer format instead of writing it back as its own', async () => {
    const { ch } = await channel<number>();
    await ch.send(1);
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keys.channel(ch.name),
        UpdateExpression: 'SET v = :two',
        ExpressionAttributeValues: { ':two': { N: '2' } },
      }),
    );
    await expect(ch.send(2)).rejects.toBeInstanceOf(ItemFormatError);
    await expect(ch.status()).rejects.toBeInstanceOf(ItemFormatError);
    await expect(ch.close()).rejects.toBeInstanceOf(ItemFormatError);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: keys.channel(ch.name), ConsistentRead: true }));
    expect(Item?.v?.N).toBe('2');
    expect(Item?.closedAt).toBeUndefined();
  });

  it('sendMany on a bounded channel closed midway says which values went', async () => {
    const { ch } = await channel<number>({ capacity: 2, poll: { baseMs: 20, maxMs: 50 } });
    const values = [10, 11, 12, 13, 14, 15];
    const sending = ch.sendMany(values).catch((error: unknown) => error);
    // Let two values in, then close while the rest wait for room.
    await eventually(async () => ((await ch.len()) === 2 ? true : undefined), 'the channel to fill');
    await ch.close();
    const err = await sending;
    expect(err).toBeInstanceOf(ChannelClosedError);
    const { sentIndexes } = err as ChannelClosedError;
    // One batch of two went (batches race for the room: which one is not fixed), the rest did not.
    expect(sentIndexes).toHaveLength(2);
    const got: number[] = [];
    for await (const value of ch.range({ signal: AbortSignal.timeout(15_000) })) got.push(value);
    expect(got.sort()).toEqual(sentIndexes.map((index) => values[index]));
  });

  it('a counted message whose envelope breaks a rule is dead-lettered and counted out once: the closed channel drains', async () => {
    const queue = await createQueue('malformed');
    queues.push(queue);
    const ch = new Channel<number>({
      sqs,
      dynamodb,
      tableName,
      name: `ch-${uniqueSuffix()}`,
      queueUrl: queue.queueUrl,
      deadLetterQueueUrl: queue.deadLetterQueueUrl,
      waitTimeSeconds: 1,
    });
    await ch.send(1);
    // Another language's sender, by docs/wire-format.md: count in, then send an envelope whose
    // traceId is over 128 bytes (64 characters, 192 bytes in UTF-8).
    await countInAsAnotherSender(ch.name);
    const body = JSON.stringify({ fnmesh: 'envelope', v: 1, id: 'foreign-1', traceId: '€'.repeat(64), parent: null, sentAt: 0, body: 2 });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body })); // and a copy of it
    await ch.close();

    const got: number[] = [];
    for await (const value of ch.range({ signal: AbortSignal.timeout(20_000) })) got.push(value);
    expect(got).toEqual([1]);
    expect(await ch.status()).toMatchObject({ sent: 2, received: 2, queued: 0, closed: true });
    const letters = await eventually(async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      return Messages.length ? Messages : undefined;
    }, 'the dead letter');
    expect(letters[0]!.MessageAttributes?.['fnmesh-reason']?.StringValue).toMatch(/traceId.*longer than 128 bytes in UTF-8/);
  });

  it('acceptRecord: a counted record that fails the envelope rules is counted out once, and still refused', async () => {
    const { ch } = await channel<number>();
    await ch.send(1);
    const body = JSON.stringify({ fnmesh: 'envelope', v: 1, id: 'foreign-2', traceId: 't', parent: null, sentAt: -5, body: 2 });
    await countInAsAnotherSender(ch.name);
    for (let delivery = 0; delivery < 3; delivery++)
      await expect(ch.acceptRecord({ body }, async () => undefined)).rejects.toMatchObject({
        name: 'MalformedEnvelopeError',
        path: 'sentAt',
      });
    expect(await ch.status()).toMatchObject({ sent: 2, received: 1, queued: 1 });
  });

  it('blocks a send while a bounded channel is full, and resumes when a value is received', async () => {
    const { ch } = await channel<number>({ capacity: 2, poll: { baseMs: 20, maxMs: 100 } });
    await ch.send(1);
    await ch.send(2);

    let third = false;
    const sending = ch.send(3).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(third).toBe(false);
    expect(await ch.len()).toBe(2);
    const { value } = await ch.receive();
    await sending;

    expect(value).toBe(1);
    expect(third).toBe(true);
    expect(await ch.len()).toBe(2);
  });

  it('a send blocked on a full channel reads the meta item while it waits, and writes no transaction the receivers would conflict with', async () => {
    const { ch, queue } = await channel<number>({ capacity: 1, poll: { baseMs: 20, maxMs: 40 } });
    // The sender's own client, whose calls are noted with their outcome: a refused count-in is a
    // transaction that holds the meta item for its commit (the receivers' count-out conflicts with
    // it); a read is not. ('conflict': met a receiver's transaction, and is retried.)
    const calls: string[] = [];
    const watched = new DynamoDBClient(localConfig);
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          const result = await next(args);
          calls.push(context.commandName!);
          return result;
        } catch (err) {
          calls.push(`${context.commandName!} ${refusalOf(err) ?? 'refused'}`);
          throw err;
        }
      },
      { step: 'initialize', name: 'noteCalls' },
    );
    const sender = new Channel<number>({
      sqs,
      dynamodb: watched,
      tableName,
      name: ch.name,
      queueUrl: queue.queueUrl,
      capacity: 1,
      poll: { baseMs: 20, maxMs: 40 },
    });
    await sender.send(1);
    calls.length = 0;
    let second = false;
    const sending = sender.send(2).then(() => (second = true));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(second).toBe(false);
    expect(calls.filter((call) => call.startsWith('TransactWriteItemsCommand'))).toEqual([]);
    expect(calls.filter((call) => call === 'GetItemCommand').length).toBeGreaterThan(3);
    expect((await ch.receive()).value).toBe(1);
    await sending;
    // Once the read showed room: one count-in and one settle (all sent: a DeleteItem), never
    // refused for want of room.
    expect(calls.filter((call) => call === 'TransactWriteItemsCommand')).toHaveLength(1);
    expect(calls.filter((call) => call === 'DeleteItemCommand')).toHaveLength(1);
    expect(calls).not.toContain('TransactWriteItemsCommand refused');
    expect(await ch.status()).toMatchObject({ sent: 2, received: 1, queued: 1 });
    // A channel closed while the sender waits: the read says so.
    const third = sender.send(3).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ch.close();
    expect(await third).toBeInstanceOf(ChannelClosedError);
    expect(await ch.status()).toMatchObject({ sent: 2, queued: 1, closed: true });
  });

  it("one Channel object's own transactions on the meta item take turns: sendMany's lanes and range's acks never conflict with each other", async () => {
    const { queue } = await channel<number>();
    const counter = new CallCounter();
    const counted = countedClients(counter);
    const ch = new Channel<number>({ ...counted, tableName, name: `ch-${uniqueSuffix()}`, queueUrl: queue.queueUrl, waitTimeSeconds: 1 });
    const receiving = (async () => {
      let received = 0;
      for await (const _value of ch.range({ signal: AbortSignal.timeout(60_000) })) received++;
      return received;
    })();
    await ch.sendMany(Array.from({ length: 600 }, (_, i) => i)); // 12 count-ins, 4 lanes at once
    await ch.close();
    expect(await receiving).toBe(600);
    expect(counter.total('DynamoDB')).toBeGreaterThan(30);
    // Strict mode holds a transaction's items for its commit and cancels any other that meets them.
    expect(counter.conflicts('DynamoDB')).toBe(0);
    counted.dynamodb.destroy();
    counted.sqs.destroy();
  });

  it('a send aborted once its count-in was applied gives the room back: the next send on a channel of capacity 1 goes through', async () => {
    const aborting = new AbortController();
    const client = new DynamoDBClient(localConfig);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args); // applied by LocalStack
        const input = args.input as { TransactItems?: { Update?: { UpdateExpression?: string } }[] };
        if (
          context.commandName === 'TransactWriteItemsCommand' &&
          input.TransactItems?.[0]?.Update?.UpdateExpression?.startsWith('ADD #sent')
        )
          aborting.abort(); // the caller gives up before the answer is read
        return result;
      },
      { step: 'deserialize', name: 'abortAfterCountIn' },
    );
    const { ch, another } = await channel<number>({ capacity: 1 });
    const sender = another(client);

    await expect(sender.send(1, { signal: aborting.signal })).rejects.toBeInstanceOf(MeshAbortError);

    // The count-in is undone in the background: nothing stays counted in, and the room is back.
    await eventually(async () => ((await ch.status()).queued === 0 ? true : undefined), 'the count-in undone', 5000);
    await ch.send(2, { signal: AbortSignal.timeout(5000) });
    expect(await ch.receive({ signal: AbortSignal.timeout(5000) })).toMatchObject({ ok: true, value: 2 });
    expect(await ch.status()).toMatchObject({ queued: 0 });
  });

  it('a meta transaction whose signal aborts while it waits for its turn is never sent', async () => {
    const sent: string[] = [];
    const slow = new DynamoDBClient(localConfig);
    slow.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        sent.push(
          String(
            (args.input as { TransactItems: { Update: { ExpressionAttributeValues: Record<string, { S?: string }> } }[] }).TransactItems[0]!
              .Update.ExpressionAttributeValues[':who']!.S,
          ),
        );
        if (sent.length === 1) await new Promise((resolve) => setTimeout(resolve, 400)); // the first holds its turn
        return next(args);
      },
      { step: 'initialize', name: 'slowFirst' },
    );
    const ledger = new ChannelLedger(slow, tableName, `ch-${uniqueSuffix()}`, {});
    const write = (who: string, signal?: AbortSignal) =>
      ledger.writeMeta(
        `test ${who}`,
        {
          TransactItems: [
            ledger.meta({
              UpdateExpression: 'SET #last = :who',
              ExpressionAttributeNames: { '#last': 'last' },
              ExpressionAttributeValues: { ':who': { S: who } },
            }),
          ],
        },
        signal,
      );
    let firstEnded = false;
    const first = write('first').then(() => (firstEnded = true));
    await expect(write('second', AbortSignal.timeout(50))).rejects.toBeInstanceOf(MeshAbortError);
    // It did not wait for the first to end (which holds its turn 400 ms): asked, not timed, so
    // that a stalled event loop cannot fail it.
    expect(firstEnded).toBe(false);
    await first;
    await write('third');
    expect(sent).toEqual(['first', 'third']);
    slow.destroy();
  });

  it('sends a delete or a put-back again for the entries SQS failed by its own fault: nothing waits out its hold', async () => {
    // A hold of a minute: a message left undeleted, or not put back, would stay in flight that long.
    const { queue, ch: writer } = await channel<number>({ visibilityTimeout: 60 });
    // The one thing mocked: SQS failing an entry of a batch. The first DeleteMessageBatch and the
    // first ChangeMessageVisibilityBatch leave their first entry out and report it failed.
    const flaky = new SQSClient(localConfig);
    const left = new Map<string, string>(); // command → the receipt handle it left out
    const sentAgain = new Set<string>();
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName;
        if (command !== 'DeleteMessageBatchCommand' && command !== 'ChangeMessageVisibilityBatchCommand') return next(args);
        const input = args.input as { Entries: { Id: string; ReceiptHandle: string }[] };
        if (left.has(command)) {
          if (input.Entries.some((entry) => entry.ReceiptHandle === left.get(command))) sentAgain.add(command);
          return next(args);
        }
        const [first, ...rest] = input.Entries;
        left.set(command, first!.ReceiptHandle);
        const failed = { Id: first!.Id, SenderFault: false, Code: 'InternalError', Message: 'entry failed' };
        if (rest.length === 0) return { output: { $metadata: {}, Successful: [], Failed: [failed] }, response: {} };
        const result = await next({ ...args, input: { ...input, Entries: rest } as typeof args.input });
        const output = result.output as { Failed?: unknown[] };
        output.Failed = [...(output.Failed ?? []), failed];
        return result;
      },
      { step: 'initialize', name: 'failFirstEntry' },
    );
    const worker = new Channel<number>({
      sqs: flaky,
      dynamodb,
      tableName,
      name: writer.name,
      queueUrl: queue.queueUrl,
      waitTimeSeconds: 1,
    });
    const sentIds = new Set((await writer.sendMany([1, 2, 3, 4, 5])).map((envelope) => envelope.id));
    await writer.close();
    const calls = new Map<number, number>();

    await worker.consume(
      async (value) => {
        calls.set(value, (calls.get(value) ?? 0) + 1);
        if (value === 3 && calls.get(3) === 1) throw new Error('transient failure'); // put back, to come again in 1 s
      },
      { signal: AbortSignal.timeout(30_000) },
    );

    expect(sentAgain).toEqual(new Set(['DeleteMessageBatchCommand', 'ChangeMessageVisibilityBatchCommand']));
    expect(calls.get(3)).toBe(2);
    expect(await worker.status()).toMatchObject({ sent: 5, received: 5, queued: 0 });
    // Nothing left in flight; anything visible is a copy of a value received (strict mode's SQS,
    // as AWS's, hands a message out again now and then, after its original was deleted).
    expect((await queue.depth()).inFlight).toBe(0);
    for (const body of await leftInQueue(queue.queueUrl)) expect(sentIds).toContain(decodeEnvelope(body).id);
    flaky.destroy();
  });

  it('retries the entries a batch reports as failed; copies that did get through are delivered once', async () => {
    const { queue, ch: reader } = await channel<number>();
    // The lost answer is the one thing mocked: the batch really went through, but the client is
    // told 3 entries failed, so it sends them again (SQS standard queues then hold two copies).
    const flaky = new SQSClient(localConfig);
    let rewritten = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const output = result.output as { Successful?: { Id: string }[]; Failed?: unknown[] };
        if (context.commandName === 'SendMessageBatchCommand' && rewritten++ === 0 && output.Successful) {
          const lost = output.Successful.splice(0, 3);
          output.Failed = lost.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'answer lost' }));
        }
        return result;
      },
      { step: 'finalizeRequest', priority: 'low', name: 'loseThreeEntries' },
    );
    const writer = new Channel<number>({
      sqs: flaky,
      dynamodb,
      tableName,
      name: reader.name,
      queueUrl: queue.queueUrl,
      waitTimeSeconds: 1,
    });

    await writer.sendMany([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await writer.close();
    const got: number[] = [];
    for await (const value of reader.range({ signal: AbortSignal.timeout(30_000) })) got.push(value);

    expect(rewritten).toBe(2); // the batch, then the retry of its 3 "failed" entries
    expect(got.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await reader.status()).toMatchObject({ sent: 10, received: 10, queued: 0 });
    // Copies the loop saw were deleted with their value's ack; copies it never saw wait in the
    // queue, and the next receiver deletes them unseen.
    expect((await queue.depth()).inFlight).toBe(0);
    expect((await reader.receive()).ok).toBe(false);
    expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('keeps per-key order on a FIFO queue', async () => {
    const { ch } = await channel<{ key: string; seq: number }>({ fifo: true, groupKey: (value) => value.key });
    const values = ['a', 'b'].flatMap((key) => [0, 1, 2, 3, 4].map((seq) => ({ key, seq })));

    await ch.sendMany(values);
    await ch.close();
    const got: { key: string; seq: number }[] = [];
    for await (const value of ch.range({ signal: AbortSignal.timeout(30_000) })) got.push(value);

    for (const key of ['a', 'b']) expect(got.filter((value) => value.key === key).map((value) => value.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps per-key order on a FIFO queue when a handler fails: the later values of its key wait for its retry', async () => {
    const { ch } = await channel<{ key: string; seq: number }>({ fifo: true, groupKey: (value) => value.key });
    const values = ['a', 'b'].flatMap((key) => [0, 1, 2, 3, 4].map((seq) => ({ key, seq })));
    await ch.sendMany(values);
    await ch.close();
    const handled: { key: string; seq: number }[] = [];
    let failed = false;

    const summary = await ch.consume(
      async (value) => {
        if (value.key === 'a' && value.seq === 1 && !failed) {
          failed = true;
          throw new Error('a:1 fails once');
        }
        handled.push(value);
      },
      { signal: AbortSignal.timeout(30_000) },
    );

    expect(summary).toMatchObject({ handled: 10, failed: 1 });
    for (const key of ['a', 'b']) expect(handled.filter((value) => value.key === key).map((value) => value.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('receives a message a raw SDK client sent in the documented envelope, and delivers a duplicate copy only once', async () => {
    const { ch, queue } = await channel<{ greeting: string }>({ schema: z.object({ greeting: z.string() }) });
    const envelope = {
      fnmesh: 'envelope',
      v: 1,
      id: randomUUID(),
      traceId: 'b'.repeat(32),
      parent: null,
      sentAt: Date.now(),
      body: { greeting: 'hi from another language' },
    };
    // The documented protocol: count the value into the channel, then send it (here twice: a duplicate).
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keys.channel(ch.name),
        UpdateExpression: 'ADD sent :one, queued :one',
        ConditionExpression: 'attribute_not_exists(closedAt)',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
    for (let copy = 0; copy < 2; copy++)
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: JSON.stringify(envelope) }));
    await ch.close();

    const first = await ch.receive();
    const second = await ch.receive();

    expect(first).toMatchObject({ ok: true, value: { greeting: 'hi from another language' } });
    expect(first.envelope?.id).toBe(envelope.id);
    expect(second.ok).toBe(false);
  });

  it('sets malformed messages aside in the dead-letter queue, with the reason', async () => {
    const { ch, queue } = await channel<{ x: number; y: number }>({ schema: point });
    const withDlq = withDeadLetters<{ x: number; y: number }>(ch, queue, { schema: point });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: 'not an envelope' }));
    await withDlq.send({ x: 1, y: 1 });

    const { value } = await withDlq.receive({ signal: AbortSignal.timeout(10_000) });
    const dead = await eventually(async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.deadLetterQueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      return Messages?.[0];
    }, 'the malformed message in the DLQ');

    expect(value).toEqual({ x: 1, y: 1 });
    expect(dead.Body).toBe('not an envelope');
    expect(dead.MessageAttributes?.['fnmesh-reason']?.StringValue).toMatch(/malformed envelope at \(message\): not JSON/);
  });

  it('sets aside a malformed message as large as the dead-letter queue allows: the reason is cut to fit, receive goes on', async () => {
    const { ch, queue } = await channel<number>();
    // A dead-letter queue with SQS's former default size limit, 256 KiB, attributes included.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.deadLetterQueueUrl, Attributes: { MaximumMessageSize: '262144' } }));
    const withDlq = withDeadLetters<number>(ch, queue);
    const body = 'x'.repeat(262_000); // not an envelope; with the reason's attributes, over 256 KiB
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }));
    await withDlq.send(7);

    expect(await withDlq.receive({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true, value: 7 });
    const dead = await eventually(async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.deadLetterQueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      return Messages?.[0];
    }, 'the malformed message in the DLQ');
    expect(dead.Body).toBe(body);
    expect(dead.MessageAttributes?.['fnmesh-reason']?.StringValue).toMatch(/^malformed envelope/);
    expect(await leftInQueue(queue.queueUrl)).toEqual([]);
  });
});

describe('Channel.retryRecord (workers fed by an event source)', () => {
  /** The channel's next message as a Lambda event source hands it: body, receipt handle, receive count. */
  async function nextRecord(queueUrl: string) {
    const message = await eventually(async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'], WaitTimeSeconds: 1 }),
      );
      return Messages?.[0];
    }, 'the message back in the queue');
    return { body: message.Body!, receiptHandle: message.ReceiptHandle!, attributes: { ...message.Attributes } };
  }

  it('brings a record whose handler failed back after the retry delay (1 s, then 2 s), not the 30 s visibility timeout', async () => {
    const { ch, queue } = await channel<number>({ visibilityTimeout: 30 });
    await ch.send(7);
    const failing = async () => {
      throw new Error('boom');
    };

    const first = await nextRecord(queue.queueUrl);
    const firstError = await ch.acceptRecord(first, failing).catch((err: unknown) => err);
    const firstDelay = await ch.retryRecord(first, firstError);
    const failedAt = Date.now();
    const second = await nextRecord(queue.queueUrl);
    const backAfterMs = Date.now() - failedAt;
    const secondDelay = await ch.retryRecord(second, await ch.acceptRecord(second, failing).catch((err: unknown) => err));

    expect(firstError).toBeInstanceOf(Error);
    expect([firstDelay, secondDelay]).toEqual([1, 2]);
    expect(second.attributes.ApproximateReceiveCount).toBe('2');
    expect(backAfterMs).toBeLessThan(10_000);
    expect(await ch.status()).toMatchObject({ sent: 1, received: 0, queued: 1 });
  });

  it('brings a copy of a value another worker holds back once that hold ends', async () => {
    const { ch, another, queue } = await channel<number>({ visibilityTimeout: 30 });
    await ch.send(8);
    const record = await nextRecord(queue.queueUrl);
    let release!: () => void;
    const working = ch.acceptRecord(record, () => new Promise<void>((resolve) => (release = resolve)));
    await eventually(async () => release, 'the first worker holding the value');

    const error = await another()
      .acceptRecord(record, async () => {})
      .catch((err: unknown) => err);
    const delay = await another().retryRecord(record, error);
    release();

    // The hold lasts the visibility timeout (30 s); the copy comes back 1 s (clock skew) + 1 s after it.
    expect(delay).toBeGreaterThanOrEqual(31);
    expect(delay).toBeLessThanOrEqual(32);
    expect(await working).toBe(true);
  });

  it("a handler that outlasts its hold, the value taken over meanwhile, reports the record held, not handled: its message is the new holder's (acceptRecord and acceptRecords)", async () => {
    // Holds last the visibility timeout, 2 s: the first workers' handlers wait until a second
    // worker's handler has their value, so their holds run out and their acks are refused.
    const { ch, another, queue } = await channel<number>({ visibilityTimeout: 2 });
    await ch.sendMany([1, 2]);
    const records = [await nextRecord(queue.queueUrl), await nextRecord(queue.queueUrl)];
    const valueOf = (record: { body: string }) => (JSON.parse(record.body) as { body: number }).body;
    const one = records.find((record) => valueOf(record) === 1)!;
    const two = records.find((record) => valueOf(record) === 2)!;
    const signals = new Map<string, () => void>();
    const signal = (name: string) => new Promise<void>((resolve) => signals.set(name, resolve));
    const [heldOne, heldTwo, takenOne, takenTwo] = [signal('held 1'), signal('held 2'), signal('taken 1'), signal('taken 2')];
    const firstOne = ch
      .acceptRecord(one, () => {
        signals.get('held 1')!();
        return takenOne;
      })
      .catch((err: unknown) => err);
    const firstTwo = another().acceptRecords([two], () => {
      signals.get('held 2')!();
      return takenTwo;
    });
    await Promise.all([heldOne, heldTwo]);

    /** A second worker takes the record over once the first hold has run out, and finishes after the first worker. */
    const takeOver = (record: { body: string }, first: Promise<unknown>) =>
      eventually(
        () =>
          another()
            .acceptRecord(record, async (value) => {
              signals.get(`taken ${value}`)!();
              await first;
            })
            .catch((err: unknown) => (err instanceof ChannelValueHeldError ? undefined : Promise.reject(err))),
        'the first hold run out, and the value taken over',
        15_000,
      );
    const seconds = await Promise.all([takeOver(one, firstOne), takeOver(two, firstTwo)]);

    expect(await firstOne).toBeInstanceOf(ChannelValueHeldError);
    expect(await firstTwo).toEqual([{ ok: false, error: expect.any(ChannelValueHeldError) }]);
    expect(seconds).toEqual([true, true]);
    expect(await ch.status()).toMatchObject({ sent: 2, received: 2, queued: 0 });
  });
});

describe('Channel with a room queue (a full channel wakes its blocked senders)', () => {
  /**
   * A bounded channel whose participants share a room queue (`room: false`: one that sends no
   * signals). `waits` lists, per wait on the room queue of a participant made with `noted`, how
   * many signals it brought back (0: it ran out).
   */
  async function bounded(capacity: number) {
    const queue = await createQueue('room-ch');
    const roomQueue = await createQueue('room');
    queues.push(queue, roomQueue);
    const name = `ch-${uniqueSuffix()}`;
    const waits: number[] = [];
    /** The MessageIds of the signals the noted participants' waits brought back. */
    const wokenBy = new Set<string>();
    const waitsBegun = { count: 0 };
    const noting = new SQSClient(localConfig);
    noting.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args as { input: { QueueUrl?: string } }).input;
        const roomWait = context.commandName === 'ReceiveMessageCommand' && input.QueueUrl === roomQueue.queueUrl;
        if (roomWait) waitsBegun.count++;
        const result = await next(args);
        if (roomWait) {
          const messages = (result.output as { Messages?: { MessageId?: string }[] }).Messages ?? [];
          waits.push(messages.length);
          for (const message of messages) wokenBy.add(message.MessageId!);
        }
        return result;
      },
      { step: 'initialize', name: 'noteRoomWaits' },
    );
    const make = (options: { room?: boolean; noted?: boolean; roomWaitSeconds?: number } = {}) =>
      new Channel<number>({
        sqs: options.noted ? noting : sqs,
        dynamodb,
        tableName,
        name,
        queueUrl: queue.queueUrl,
        waitTimeSeconds: 1,
        capacity,
        ...(options.room === false ? {} : { roomQueueUrl: roomQueue.queueUrl, roomWaitSeconds: options.roomWaitSeconds ?? 1 }),
      });
    /** Until `senders` noted participants are in their first wait on the room queue. */
    const blocked = (senders = 1) =>
      eventually(async () => (waitsBegun.count === senders && waits.length === 0 ? true : undefined), 'the senders to wait for room');
    return { make, roomQueue, waits, wokenBy, blocked };
  }

  it('refuses a room queue that is the channel queue, a FIFO queue, or a wait out of 1-20 s, before any call', () => {
    const options = { sqs, dynamodb, tableName, name: 'room-bad', queueUrl: 'https://sqs.local/q', capacity: 1 };
    expect(() => new Channel<number>({ ...options, roomQueueUrl: options.queueUrl })).toThrow(MeshConfigError);
    expect(() => new Channel<number>({ ...options, roomQueueUrl: 'https://sqs.local/room.fifo' })).toThrow(MeshConfigError);
    expect(() => new Channel<number>({ ...options, roomQueueUrl: 'https://sqs.local/room', roomWaitSeconds: 0 })).toThrow(MeshConfigError);
    expect(() => new Channel<number>({ ...options, roomQueueUrl: 'https://sqs.local/room', roomWaitSeconds: 21 })).toThrow(MeshConfigError);
  });

  it('a receive puts a signal in the room queue, and the blocked send wakes on it (its 20 s wait does not run out)', async () => {
    const { make, roomQueue, waits, wokenBy, blocked } = await bounded(1);
    const receiver = make();
    const sender = make({ noted: true, roomWaitSeconds: 20 });
    await sender.send(1);
    let second = false;
    const sending = sender.send(2).then(() => (second = true));
    // The sender is refused (full) and waits on the room queue: its wait has not ended yet.
    await blocked();
    expect(second).toBe(false);
    const { value } = await receiver.receive();
    await sending;
    expect(value).toBe(1);
    // One wait, ended by the receive's signal (a wait that runs out brings back nothing).
    expect(waits).toEqual([1]);
    expect(await receiver.status()).toMatchObject({ sent: 2, received: 1, queued: 1 });
    // With nobody waiting, a receive's signal stays in the room queue for the next blocked sender:
    // exactly one new signal. Told apart by MessageId, as strict mode's SQS (like AWS's
    // at-least-once delivery) may put a copy of a received signal back, with the same MessageId.
    await receiver.receive();
    const newSignals = async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: roomQueue.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
      return new Set(Messages.map((message) => message.MessageId!).filter((id) => !wokenBy.has(id)));
    };
    await eventually(async () => ((await newSignals()).size === 1 ? true : undefined), 'one new signal to wait in the room queue');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await newSignals()).size).toBe(1); // and no second one after it
  });

  it('many senders on a channel of capacity 1: every value once, the counts exact, the channel drained', async () => {
    const { make } = await bounded(1);
    const receiver = make();
    const senders = Array.from({ length: 4 }, () => make());
    const receiving = (async () => {
      const got: number[] = [];
      for await (const value of receiver.range({ signal: AbortSignal.timeout(60_000) })) got.push(value);
      return got;
    })();
    await Promise.all(
      senders.map(async (sender, s) => {
        for (let i = 0; i < 5; i++) await sender.send(s * 10 + i);
      }),
    );
    await receiver.close();
    const got = await receiving;
    expect(got.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 30, 31, 32, 33, 34]);
    expect(await receiver.status()).toMatchObject({ sent: 20, received: 20, abandoned: 0, queued: 0, closed: true });
  });

  it('signals lost (a receiver that sends none): a blocked sender still gets through, after its wait runs out', async () => {
    const { make, waits } = await bounded(1);
    const receiver = make({ room: false });
    const sender = make({ noted: true });
    const receiving = (async () => {
      const got: number[] = [];
      for await (const value of receiver.range({ signal: AbortSignal.timeout(60_000) })) got.push(value);
      return got;
    })();
    for (let i = 0; i < 4; i++) await sender.send(i);
    await sender.close();
    expect(await receiving).toEqual([0, 1, 2, 3]);
    expect(await receiver.status()).toMatchObject({ sent: 4, received: 4, queued: 0, closed: true });
    // It waited (the channel was full) and no signal ever came.
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((signals) => signals === 0)).toBe(true);
  });

  it('a receive of 2 values wakes 2 of 3 blocked senders, and close the third (their 20 s waits do not run out)', async () => {
    const { make, blocked } = await bounded(2);
    const receiver = make();
    await receiver.sendMany([1, 2]);
    const senders = [3, 4, 5].map(() => make({ noted: true, roomWaitSeconds: 20 }));
    const outcomes: unknown[] = [];
    const sending = senders.map((sender, i) =>
      sender.send(10 + i, { signal: AbortSignal.timeout(10_000) }).then(
        () => outcomes.push('sent'),
        (error: unknown) => outcomes.push(error),
      ),
    );
    await blocked(3);

    expect(await receiver.receiveMany(2)).toHaveLength(2);
    await eventually(async () => (outcomes.length === 2 ? true : undefined), 'two senders through', 10_000);
    await receiver.close();
    await Promise.all(sending);

    expect(outcomes.slice(0, 2)).toEqual(['sent', 'sent']);
    expect(outcomes[2]).toBeInstanceOf(ChannelClosedError);
    expect(await receiver.status()).toMatchObject({ sent: 4, received: 2, queued: 2, closed: true });
  });

  it('close wakes a send blocked on a full channel (its 20 s wait does not run out), which then fails as a send on a closed channel', async () => {
    const { make, waits, blocked } = await bounded(1);
    const sender = make({ noted: true, roomWaitSeconds: 20 });
    await sender.send(1);
    const sending = sender.send(2).catch((error: unknown) => error);
    await blocked();
    await make().close();
    expect(await sending).toBeInstanceOf(ChannelClosedError);
    expect(waits).toEqual([1]);
    expect(await sender.status()).toMatchObject({ sent: 1, queued: 1, closed: true });
  });
});
