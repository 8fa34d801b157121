/**
 * Channel<T>: Go's `chan T` on an SQS queue, with exact close and bounded capacity kept in a
 * meta item of the mesh table (never SQS's approximate counts).
 *
 *   send        meta ADD sent k, queued k  if not closed (and queued <= capacity - k), a one-item
 *               TransactWriteItems (its client request token makes SDK retries safe),
 *               then SendMessage / SendMessageBatch of envelopes (docs/wire-format.md)
 *   receive     ReceiveMessage, then the claim: TransactWriteItems of a marker msg#<id> per message
 *               (if absent) + ADD received k, queued -k; then DeleteMessage(Batch)
 *   close       UpdateItem SET closedAt  if not closed
 *   drained     closedAt set and queued = 0: receivers get { ok: false }, range ends
 *
 * A value is counted out of the channel exactly once, by the claim: a duplicate delivery (SQS is
 * at-least-once) finds its marker and is deleted without being delivered again.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import {
  ChannelCapacityError,
  ChannelClosedError,
  ChannelSendError,
  InvalidInputError,
  MalformedEnvelopeError,
  MeshConfigError,
  PayloadTooLargeError,
} from '../errors.ts';
import { abortable, type BackoffOptions, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { retryConflicts, transactWrite } from '../internal/conflicts.ts';
import { check, describeIssues, type Schema } from '../schema.ts';
import { checkName, checkVersion, FORMAT_VERSION, type Item, keys, n, readNumber, ttlSeconds } from '../table/layout.ts';
import { countedIdOf, decodeEnvelope, type Envelope, encodeEnvelope, envelopeOf, type TraceContext } from './envelope.ts';

/** SQS's default (and, for most queues, actual) largest message: 256 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;
/** Claim markers outlive SQS's longest retention (14 days), so a late duplicate is still recognised. */
const MARKER_TTL_MS = 15 * 24 * 3600 * 1000;
const SQS_BATCH = 10;
/** The meta item's `capacity` of an unbounded channel (fnmesh has no unbuffered channels). */
const UNBOUNDED = 0;
const SEND_RETRIES = 3;
const SEND_CONCURRENCY = 4;
/** `range` fetches the next batch while the body works when a batch takes the body less than this. */
const PREFETCH_WITHIN_MS = 1000;
/** How many message ids a `range` loop remembers, to know copies of values it took. */
const TAKEN_IDS_KEPT = 10_000;
const LOOKUP_ATTEMPTS = 5;
/** At most this many ReceiveMessage calls fill one `range` batch (and its one claim transaction). */
const MAX_RECEIVES_PER_BATCH = 5;

export interface ChannelOptions<T> {
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  /** The mesh table (holds the channel's meta item and claim markers). */
  tableName: string;
  /** The channel's name: every Channel with this name shares one meta item. */
  name: string;
  /** The channel's queue. A `.fifo` queue gives per-key ordering (see `groupKey`). */
  queueUrl: string;
  /** Validates every value sent and received (any Standard Schema library, e.g. zod). */
  schema?: Schema<T>;
  /** A bounded channel: `send` waits while this many values are in it. Go: `make(chan T, capacity)`. */
  capacity?: number;
  /** FIFO queues: the message group of a value (ordering holds per group). @default () => 'default' */
  groupKey?: (value: T) => string;
  /** Refuse values whose message would be larger, before any call. @default 262144 */
  maxMessageBytes?: number;
  /** Long-poll per ReceiveMessage, in seconds (0–20). @default 2 */
  waitTimeSeconds?: number;
  /** Messages that are not valid envelopes, or whose value fails the schema, go here with the reason. */
  deadLetterQueueUrl?: string;
  /** How a full channel's `send` and an idle receiver poll. @default { baseMs: 50, maxMs: 1000 } */
  poll?: BackoffOptions;
}

export interface SendOptions {
  signal?: AbortSignal;
  /** Continue a trace: the message gets this trace id and parent. */
  trace?: TraceContext;
}

export type Received<T> = { ok: true; value: T; envelope: Envelope<T> } | { ok: false; value: undefined; envelope: undefined };

export interface ChannelStatus {
  sent: number;
  received: number;
  /** Values sent and not yet received: Go's `len(ch)`. */
  queued: number;
  closed: boolean;
  capacity: number | undefined;
}

/** A message taken from SQS and decoded, not yet claimed. */
interface Delivery<T> {
  envelope: Envelope<T>;
  receiptHandle: string;
  /** How many times SQS has handed this message out, this time included. */
  receives: number;
  /** The message as SQS gave it (its body and id, for a dead-letter copy). */
  message?: Message;
}

export interface ConsumeOptions<T> {
  signal?: AbortSignal;
  /** Values per batch, 1–10 (a batch fills up to 5 such receives when the body is quick). @default 10 */
  batchSize?: number;
  /**
   * A value whose handler has failed on this many deliveries goes to the channel's
   * `deadLetterQueueUrl` with the error as its reason, instead of coming back again. It stays
   * counted in the channel (a closed channel is drained only once it is redriven and handled).
   * Without it, the queue's own redrive policy dead-letters values after its maxReceiveCount.
   */
  deadLetterAfter?: number;
  /** Called when a handler fails (the value comes back later, or is dead-lettered). */
  onError?: (error: unknown, envelope: Envelope<T>) => void;
}

export interface ConsumeSummary {
  /** Values whose handler succeeded (each acked: claimed and deleted). */
  handled: number;
  /** Handler failures (each value came back, or was dead-lettered). */
  failed: number;
  /** Values moved to the dead-letter queue with their reason. */
  deadLettered: number;
}

/** What a consumer says of a value it was handed: nothing (done), or the error its handler threw. */
type Verdict = { error: unknown } | undefined;

export class Channel<T> {
  readonly name: string;
  readonly queueUrl: string;
  readonly capacity: number | undefined;
  private readonly sqs: SQSClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly tableName: string;
  private readonly schema: Schema<T> | undefined;
  private readonly fifo: boolean;
  private readonly groupKey: (value: T) => string;
  private readonly maxMessageBytes: number;
  private readonly waitTimeSeconds: number;
  private readonly deadLetterQueueUrl: string | undefined;
  private readonly poll: BackoffOptions;

  constructor(options: ChannelOptions<T>) {
    if (!options?.sqs || !options.dynamodb) throw new MeshConfigError('Channel needs an SQS client and a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Channel needs the mesh table name');
    if (!options.queueUrl) throw new MeshConfigError('Channel needs its queue URL');
    const { capacity, waitTimeSeconds = 2, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES } = options;
    if (capacity !== undefined && !(Number.isSafeInteger(capacity) && capacity > 0)) {
      throw new MeshConfigError(`capacity must be a positive integer (unbuffered channels are not supported), got ${capacity}`);
    }
    if (!(Number.isInteger(waitTimeSeconds) && waitTimeSeconds >= 0 && waitTimeSeconds <= 20)) {
      throw new MeshConfigError(`waitTimeSeconds must be an integer from 0 to 20, got ${waitTimeSeconds}`);
    }
    if (!(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes > 0))
      throw new MeshConfigError(`maxMessageBytes must be a positive integer`);
    this.name = checkName('channel', options.name);
    this.queueUrl = options.queueUrl;
    this.capacity = capacity;
    this.sqs = options.sqs;
    this.dynamodb = options.dynamodb;
    this.tableName = options.tableName;
    this.schema = options.schema;
    this.fifo = options.queueUrl.endsWith('.fifo');
    this.groupKey = options.groupKey ?? (() => 'default');
    this.maxMessageBytes = maxMessageBytes;
    this.waitTimeSeconds = waitTimeSeconds;
    this.deadLetterQueueUrl = options.deadLetterQueueUrl;
    this.poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
  }

  // --- sending -------------------------------------------------------------------------------

  /**
   * Sends one value. Go: `ch <- value`. On a bounded channel, waits while it is full.
   * Cost: 1 TransactWriteItems (one item) + 1 SendMessage (+ 1 per poll while full).
   * @returns the envelope sent (its id and trace id)
   * @throws ChannelClosedError, InvalidInputError (schema), PayloadTooLargeError — the last two before any call
   */
  async send(value: T, options: SendOptions = {}): Promise<Envelope<T>> {
    const [message] = await this.prepare([value], options.trace);
    await this.reserve(1, options.signal);
    try {
      await abortable(options.signal, () =>
        this.sqs.send(
          new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: message!.text, ...this.fifoFields(message!) }),
          callOptions(options.signal),
        ),
      );
    } catch (err) {
      await this.unreserve(1);
      throw err;
    }
    return message!.envelope;
  }

  /**
   * Sends many values in SendMessageBatch calls of up to 10 (and within the size limit), up to 4
   * batches in flight on a standard queue; entries a batch fails are retried, and what still fails
   * is uncounted and reported. An unbounded channel counts all the values in with one call;
   * a bounded one counts each batch in as there is room.
   * Cost per 10 values: 1 SendMessageBatch, + 1 TransactWriteItems (one item) per call (unbounded)
   * or per batch (bounded).
   * @throws ChannelSendError listing what was not sent; ChannelClosedError (its `sentIndexes` say
   *   which values went before the channel closed); ChannelCapacityError; InvalidInputError /
   *   PayloadTooLargeError before any call
   */
  async sendMany(values: readonly T[], options: SendOptions = {}): Promise<Envelope<T>[]> {
    const messages = await this.prepare(values, options.trace);
    const indexOf = new Map(messages.map((message, index) => [message, index]));
    const batches: (typeof messages)[] = [];
    let batch: typeof messages = [];
    let bytes = 0;
    const room = Math.min(SQS_BATCH, this.capacity ?? SQS_BATCH);
    for (const message of messages) {
      const size = Buffer.byteLength(message.text);
      if (batch.length === room || bytes + size > this.maxMessageBytes) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(message);
      bytes += size;
    }
    if (batch.length) batches.push(batch);
    const countedUpFront = this.capacity === undefined;
    if (countedUpFront && messages.length) await this.reserve(messages.length, options.signal);
    // Standard queues have no order to keep: up to 4 batches in flight. FIFO queues: one at a time.
    const inFlight = this.fifo ? 1 : SEND_CONCURRENCY;
    let next = 0;
    const failures: unknown[] = [];
    const sentIndexes: number[] = [];
    await Promise.all(
      Array.from({ length: Math.min(inFlight, batches.length) }, async () => {
        while (next < batches.length && !failures.length) {
          const entries = batches[next++]!;
          await this.sendBatch(entries, options.signal, countedUpFront).then(
            () => sentIndexes.push(...entries.map((entry) => indexOf.get(entry)!)),
            (err: unknown) => failures.push(err),
          );
        }
      }),
    );
    if (failures.length) {
      // Batches never started were counted in up front: count them out again.
      if (countedUpFront) await this.unreserve(batches.slice(next).reduce((sum, unsent) => sum + unsent.length, 0));
      const [first] = failures;
      // Closed midway (a bounded channel counts each batch in as it goes): say which values went.
      if (first instanceof ChannelClosedError)
        throw new ChannelClosedError(
          this.name,
          `send on closed channel ${this.name}: ${sentIndexes.length} of ${values.length} values were sent before it closed (sentIndexes)`,
          sentIndexes.sort((a, b) => a - b),
        );
      throw first;
    }
    return messages.map((message) => message.envelope);
  }

  /** Sends one batch (counting it in first unless it was already); what fails is counted out again. */
  private async sendBatch(messages: PreparedMessage<T>[], signal: AbortSignal | undefined, counted: boolean): Promise<void> {
    if (!counted) await this.reserve(messages.length, signal);
    let pending: SendMessageBatchRequestEntry[] = messages.map((message, index) => ({
      Id: String(index),
      MessageBody: message.text,
      ...this.fifoFields(message),
    }));
    let failures: { id: string; code: string; message: string }[] = [];
    try {
      for (let attempt = 0; pending.length && attempt < SEND_RETRIES; attempt++) {
        if (attempt) await sleep(pollDelayMs(attempt, this.poll), signal);
        const { Failed = [] } = await abortable(signal, () =>
          this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }), callOptions(signal)),
        );
        const failed = new Set(Failed.map((entry) => entry.Id));
        failures = Failed.map((entry) => ({
          id: messages[Number(entry.Id)]!.envelope.id,
          code: entry.Code ?? 'Unknown',
          message: entry.Message ?? '',
        }));
        // A sender's fault (bad entry) will not succeed on retry.
        if (Failed.some((entry) => entry.SenderFault)) break;
        pending = pending.filter((entry) => failed.has(entry.Id));
      }
    } catch (err) {
      await this.unreserve(pending.length);
      throw err;
    }
    if (failures.length) {
      await this.unreserve(failures.length);
      throw new ChannelSendError(this.name, failures);
    }
  }

  private fifoFields(message: PreparedMessage<T>) {
    return this.fifo ? { MessageGroupId: this.groupKey(message.envelope.body), MessageDeduplicationId: message.envelope.id } : {};
  }

  private async prepare(values: readonly T[], trace: TraceContext | undefined): Promise<PreparedMessage<T>[]> {
    const prepared: PreparedMessage<T>[] = [];
    for (const [index, value] of values.entries()) {
      const checked = await this.validate(value, `values[${index}]`);
      const envelope = envelopeOf(checked, trace);
      const text = encodeEnvelope(envelope);
      const bytes = Buffer.byteLength(text);
      if (bytes > this.maxMessageBytes) throw new PayloadTooLargeError(`channel ${this.name} message`, bytes, this.maxMessageBytes);
      prepared.push({ envelope, text });
    }
    return prepared;
  }

  private async validate(value: unknown, path: string): Promise<T> {
    if (!this.schema) return value as T;
    const result = await check(this.schema, value);
    if (!result.ok) throw new InvalidInputError(path, describeIssues(result.issues));
    return result.value;
  }

  /**
   * Counts `count` values into the channel: refused once closed; waits while full. A one-item
   * transaction rather than an UpdateItem, for its client request token: the SDK keeps the token
   * across its retries, so a retry after a lost answer is not counted twice (which would keep a
   * closed channel from ever draining).
   */
  private async reserve(count: number, signal: AbortSignal | undefined): Promise<void> {
    const capacityCheck = this.capacity === undefined ? '' : ' AND (attribute_not_exists(#queued) OR #queued <= :room)';
    // The capacity is stored with the channel by its first send (0: unbounded); a participant
    // that disagrees is refused, so no one can overfill a bounded channel. A newer format of the
    // item is refused too, never written back as ours.
    const ours = '(attribute_not_exists(#capacity) OR #capacity = :capacity) AND (attribute_not_exists(#v) OR #v <= :v)';
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      try {
        await this.countOnce(
          {
            UpdateExpression: 'ADD #sent :count, #queued :count SET #v = :v, #capacity = :capacity',
            ConditionExpression: `attribute_not_exists(#closedAt) AND ${ours}${capacityCheck}`,
            ExpressionAttributeNames: { '#sent': 'sent', '#queued': 'queued', '#closedAt': 'closedAt', '#v': 'v', '#capacity': 'capacity' },
            ExpressionAttributeValues: {
              ':count': n(count),
              ':v': n(FORMAT_VERSION),
              ':capacity': n(this.capacity ?? UNBOUNDED),
              ...(this.capacity === undefined ? {} : { ':room': n(this.capacity - count) }),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
          signal,
        );
        return;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const [refusal] = err.CancellationReasons ?? [];
        if (refusal?.Code !== 'ConditionalCheckFailed') throw err;
        checkVersion(refusal.Item);
        if (refusal.Item?.closedAt) throw new ChannelClosedError(this.name);
        const stored = readNumber(refusal.Item, 'capacity');
        if (stored !== undefined && stored !== (this.capacity ?? UNBOUNDED))
          throw new ChannelCapacityError(this.name, this.capacity, stored === UNBOUNDED ? undefined : stored);
        // Full: wait for receivers to make room (Go: a send on a full buffered channel blocks).
        await sleep(pollDelayMs(attempt, this.poll), signal);
      }
    }
  }

  /** Takes back the count of values that were not sent after all (once, like `reserve`). */
  private async unreserve(count: number): Promise<void> {
    if (count <= 0) return;
    await this.countOnce(
      {
        UpdateExpression: 'ADD #sent :minus, #queued :minus',
        ExpressionAttributeNames: { '#sent': 'sent', '#queued': 'queued' },
        ExpressionAttributeValues: { ':minus': n(-count) },
      },
      undefined,
    );
  }

  /** One update of the channel's counts, as a one-item transaction (see `reserve`). */
  private async countOnce(
    update: Omit<NonNullable<NonNullable<TransactWriteItemsCommandInput['TransactItems']>[number]['Update']>, 'TableName' | 'Key'>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await transactWrite(
      this.dynamodb,
      `channel ${this.name}: count`,
      { TransactItems: [{ Update: { TableName: this.tableName, Key: keys.channel(this.name), ...update } }] },
      signal,
    );
  }

  // --- closing and status ----------------------------------------------------------------------

  /**
   * Closes the channel: later sends fail; receivers drain what was sent before, then get
   * `{ ok: false }`. Go: `close(ch)`. Cost: 1 UpdateItem.
   * @throws ChannelClosedError if it was closed already (Go: "close of closed channel")
   */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      await retryConflicts(`channel ${this.name}: close`, options.signal, () =>
        this.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keys.channel(this.name),
            UpdateExpression: 'SET #closedAt = :now, #v = if_not_exists(#v, :v)',
            ConditionExpression: 'attribute_not_exists(#closedAt) AND (attribute_not_exists(#v) OR #v <= :v)',
            ExpressionAttributeNames: { '#closedAt': 'closedAt', '#v': 'v' },
            ExpressionAttributeValues: { ':now': n(Date.now()), ':v': n(FORMAT_VERSION) },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          callOptions(options.signal),
        ),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        checkVersion(err.Item);
        throw new ChannelClosedError(this.name, `close of closed channel ${this.name}`);
      }
      throw err;
    }
  }

  /** Counts and state, exact (consistent read of the meta item). Cost: 1 GetItem. */
  async status(options: { signal?: AbortSignal } = {}): Promise<ChannelStatus> {
    const { Item } = await abortable(options.signal, () =>
      this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.channel(this.name), ConsistentRead: true }),
        callOptions(options.signal),
      ),
    );
    checkVersion(Item);
    return {
      sent: readNumber(Item, 'sent') ?? 0,
      received: readNumber(Item, 'received') ?? 0,
      queued: readNumber(Item, 'queued') ?? 0,
      closed: Item?.closedAt !== undefined,
      capacity: this.capacity,
    };
  }

  /** Values sent and not yet received. Go: `len(ch)`. Cost: 1 GetItem. */
  async len(options: { signal?: AbortSignal } = {}): Promise<number> {
    return (await this.status(options)).queued;
  }

  // --- receiving -------------------------------------------------------------------------------

  /**
   * Receives one value, waiting until there is one; `{ ok: false }` once the channel is closed and
   * drained. Go: `value, ok := <-ch`. The value is moved out of the channel (claimed and deleted)
   * before it is returned. Cost: 1 ReceiveMessage (+ 1 GetItem per empty poll), 1
   * TransactWriteItems, 1 DeleteMessageBatch.
   */
  async receive(options: { signal?: AbortSignal } = {}): Promise<Received<T>> {
    const [first] = await this.receiveUpTo(1, options);
    return first ?? { ok: false, value: undefined, envelope: undefined };
  }

  /**
   * Receives up to `max` (≤ 10) values that are there, waiting for at least one; an empty array once
   * the channel is closed and drained. Cost per call: 1 ReceiveMessage, 1 TransactWriteItems, 1
   * DeleteMessageBatch.
   */
  async receiveMany(max = SQS_BATCH, options: { signal?: AbortSignal } = {}): Promise<Envelope<T>[]> {
    const received = await this.receiveUpTo(max, options);
    return received.map((item) => item.envelope!).filter(Boolean);
  }

  private async receiveUpTo(max: number, options: { signal?: AbortSignal }): Promise<Received<T>[]> {
    if (!(Number.isInteger(max) && max >= 1 && max <= SQS_BATCH)) throw new MeshConfigError(`max must be 1 to ${SQS_BATCH}, got ${max}`);
    for (;;) {
      const deliveries = await this.fetch(max, options.signal);
      if (deliveries === undefined) return [];
      if (!deliveries.length) continue;
      const claimed = await this.settle(deliveries, [], [], options.signal);
      if (claimed.length) return claimed.map((envelope) => ({ ok: true, value: envelope.body, envelope }));
    }
  }

  /**
   * `for await (const value of channel)`: Go's `for value := range ch`. Each value is acked
   * (claimed and deleted) once the loop body has finished with it and asks for the next; the loop
   * ends when the channel is closed and drained. A loop left early — by `break`, `return` or a
   * thrown error alike, which an iterator cannot tell apart — does not ack the value it was on:
   * that value and the rest of its batch go back to the queue at once, to be delivered again (and
   * dead-lettered after the queue's maxReceiveCount if it keeps failing).
   *
   * Duplicate deliveries of values already received are dropped before the body sees them; the
   * body may still run more than once for a value after a failure or a visibility timeout: make it
   * idempotent.
   *
   * Pipelined: a batch's ack runs while the next batch is fetched, and when the body is quick (a
   * batch done within a second) the next batch is fetched while the body works through this one,
   * filled by up to 5 ReceiveMessage calls when that many full batches wait. Cost per batch:
   * 1–5 ReceiveMessage (up to `batchSize` values each), 1 BatchGetItem (claim markers and the
   * channel's counts, which also tell the loop when the batch in hand is the last),
   * 1 TransactWriteItems, 1 DeleteMessageBatch per 10 values.
   */
  async *range(options: { signal?: AbortSignal; batchSize?: number } = {}): AsyncGenerator<T, void, undefined> {
    for await (const delivery of this.deliveries(options)) yield delivery.envelope.body;
  }

  /**
   * Go's worker loop `for v := range ch { handle(v) }`, for handlers that may fail: each value is
   * acked once `handle` resolves; a value whose handler throws comes back after a delay that
   * grows with its deliveries (1 s, 2 s, 4 s … 60 s), or, with `deadLetterAfter`, goes to the
   * dead-letter queue with the error as its reason. Resolves once the channel is closed and
   * drained; a signal that aborts stops it (MeshAbortError). Batching, prefetch and duplicate
   * handling are those of `range`; handlers may still run more than once for a value: make them
   * idempotent.
   */
  async consume(handle: (value: T, envelope: Envelope<T>) => Promise<void>, options: ConsumeOptions<T> = {}): Promise<ConsumeSummary> {
    const { deadLetterAfter } = options;
    if (deadLetterAfter !== undefined) {
      if (!(Number.isInteger(deadLetterAfter) && deadLetterAfter >= 1))
        throw new MeshConfigError('deadLetterAfter must be a positive integer');
      if (!this.deadLetterQueueUrl)
        throw new MeshConfigError(`deadLetterAfter needs the channel's deadLetterQueueUrl (channel ${this.name})`);
    }
    const summary: ConsumeSummary = { handled: 0, failed: 0, deadLettered: 0 };
    const deliveries = this.deliveries(options, summary);
    let verdict: Verdict;
    for (;;) {
      const next = await deliveries.next(verdict);
      if (next.done) return summary;
      const { envelope } = next.value;
      try {
        await handle(envelope.body, envelope);
        verdict = undefined;
        summary.handled++;
      } catch (error) {
        verdict = { error };
        summary.failed++;
        options.onError?.(error, envelope);
      }
    }
  }

  /**
   * The pipeline under `range` and `consume`: hands out deliveries one by one; what the consumer
   * passes back to `next()` for one (nothing, or the error its handler threw) decides whether it
   * is acked, delayed or dead-lettered when its batch is settled.
   */
  private async *deliveries(
    options: { signal?: AbortSignal; batchSize?: number; deadLetterAfter?: number },
    summary?: ConsumeSummary,
  ): AsyncGenerator<Delivery<T>, void, Verdict> {
    const { signal } = options;
    const batchSize = options.batchSize ?? SQS_BATCH;
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= SQS_BATCH))
      throw new MeshConfigError(`batchSize must be 1 to ${SQS_BATCH}`);
    // Acks run one after another, each while the loop goes on (an error surfaces at the next
    // batch or at the end of the loop).
    const loop: RangeLoop = { taken: new RecentIds(TAKEN_IDS_KEPT), unclaimed: 0, acks: Promise.resolve() };
    let ackFailure: { error: unknown } | undefined;
    let poll: PollMode = 'idle';
    let receives = 1;
    let prefetched: Promise<Batch<T> | undefined> | undefined;
    const take = () => {
      const next = this.takeBatch(batchSize, poll, receives, loop, signal);
      next.catch(() => undefined); // awaited later; this only keeps it from counting as unhandled
      return next;
    };
    try {
      for (;;) {
        const batch = await (prefetched ?? take());
        prefetched = undefined;
        if (batch === undefined) return;
        if (ackFailure) throw ackFailure.error;
        poll = batch.nextPoll;
        let done = 0;
        const failures: { delivery: Delivery<T>; error: unknown }[] = [];
        const startedAt = performance.now();
        try {
          for (const delivery of batch.fresh) {
            const verdict = yield delivery;
            if (verdict) failures.push({ delivery, error: verdict.error });
            done++;
            // A quick body: the next batch is fetched while it works, and the more values wait in
            // the queue, the more of them one batch takes (up to what the body does in a second).
            const valueMs = (performance.now() - startedAt) / done;
            if (!prefetched && !batch.last && valueMs * batch.fresh.length < PREFETCH_WITHIN_MS) {
              const affordable = Math.floor(PREFETCH_WITHIN_MS / Math.max(valueMs * batchSize, 1));
              const waiting = Math.floor(batch.waiting / batchSize); // full batches only
              receives = Math.max(1, Math.min(MAX_RECEIVES_PER_BATCH, affordable, waiting));
              prefetched = take();
            }
          }
        } finally {
          const rest = batch.fresh.slice(done);
          const failed = new Set(failures.map(({ delivery }) => delivery));
          // Failed values come back: their next delivery is the value again, not a copy.
          for (const delivery of failed) loop.taken.delete(delivery.envelope.id);
          const finished = batch.fresh.slice(0, done).filter((delivery) => !failed.has(delivery));
          const goingBack = new Set([...rest, ...failed].map((delivery) => delivery.envelope.id));
          const copiesBack = batch.copies.filter((copy) => goingBack.has(copy.envelope.id));
          const copiesDone = batch.copies.filter((copy) => !goingBack.has(copy.envelope.id));
          const ack = loop.acks
            .then(async () => {
              await this.settle(finished, [...rest, ...copiesBack], copiesDone, signal);
              if (failures.length) await this.handleFailures(failures, options.deadLetterAfter, summary);
            })
            .then(() => (loop.unclaimed -= batch.fresh.length));
          loop.acks = ack;
          ack.catch((error: unknown) => (ackFailure ??= { error }));
          if (rest.length) await ack;
        }
        // The last batch ends the loop, unless values of it failed: they come back to be received.
        if (batch.last && !failures.length) return;
        if (failures.length) poll = 'quick';
        receives = 1;
      }
    } finally {
      const unused = await prefetched?.catch(() => undefined);
      if (unused) await this.putBack([...unused.fresh, ...unused.copies]);
      await loop.acks;
    }
  }

  /**
   * For consumers that SQS itself feeds (a Lambda event source mapping): handles one record of the
   * channel's queue. A record already received before (a duplicate) is skipped; otherwise
   * `handle` runs and, if it succeeds, the value is counted out of the channel (the event source
   * deletes the message). A record that is not a valid envelope, or fails the schema, throws
   * MalformedEnvelopeError: report it as a batch item failure and the queue's redrive
   * dead-letters it (if it names a valid id, its sender counted it in: it is counted out here). Cost: 1 GetItem + 1 TransactWriteItems per record.
   * @returns false if the record was a duplicate and `handle` did not run
   */
  async acceptRecord(
    record: { body: string },
    handle: (value: T, envelope: Envelope<T>) => Promise<void>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    let envelope: Envelope<T>;
    try {
      const decoded = decodeEnvelope(record.body);
      envelope = { ...decoded, body: await this.validateReceived(decoded.body) };
    } catch (err) {
      // Dead-lettered by the queue's redrive, never received: counted out now, once.
      if (err instanceof MalformedEnvelopeError) await this.countOut(record.body, 1);
      throw err;
    }
    const { Item } = await abortable(options.signal, () =>
      this.dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: keys.channelMessage(this.name, envelope.id),
          ConsistentRead: true,
          ProjectionExpression: 'pk',
        }),
        callOptions(options.signal),
      ),
    );
    if (Item) return false;
    await handle(envelope.body, envelope);
    const claimed = await this.claim([{ envelope, receiptHandle: '', receives: 1 }], options.signal);
    return claimed.length > 0;
  }

  private async validateReceived(body: unknown): Promise<T> {
    if (!this.schema) return body as T;
    const result = await check(this.schema, body);
    if (!result.ok) throw new MalformedEnvelopeError('body', describeIssues(result.issues));
    return result.value;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this.range();
  }

  /**
   * @internal For `select`: one receive attempt on this channel alone, waiting at most
   * `waitTimeSeconds`; `'empty'` if nothing came (another receiver may hold what is queued).
   */
  async receiveOnce(waitTimeSeconds: number, signal?: AbortSignal): Promise<Received<T> | 'empty'> {
    const deliveries = await this.fetch(1, signal, waitTimeSeconds);
    if (deliveries === undefined) return { ok: false, value: undefined, envelope: undefined };
    if (!deliveries.length) return 'empty';
    const [envelope] = await this.settle(deliveries, [], [], signal);
    return envelope ? { ok: true, value: envelope.body, envelope } : 'empty';
  }

  /**
   * One poll: decoded deliveries (possibly none), or undefined once the channel is closed and
   * drained. Malformed messages are set aside (dead-letter queue with the reason, if configured).
   *   quick  a ReceiveMessage without waiting; if empty, the drain check, then the long poll
   *   idle   the drain check, then the long poll (when the last poll found nothing)
   *   long   the long poll alone (when more values are known to be queued), with `receives - 1`
   *          more ReceiveMessage calls beside it that do not wait
   */
  private async fetch(
    max: number,
    signal: AbortSignal | undefined,
    waitTimeSeconds = this.waitTimeSeconds,
    mode: PollMode = 'quick',
    receives = 1,
    ownAcks: () => Promise<unknown> = async () => undefined,
  ): Promise<Delivery<T>[] | undefined> {
    throwIfAborted(signal);
    const receive = (wait: number) =>
      abortable(signal, () =>
        this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: wait,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          callOptions(signal),
        ),
      );
    const drained = async () => {
      await ownAcks().catch(() => undefined); // their failure surfaces in the loop
      const status = await this.status(signal ? { signal } : {});
      return status.closed && status.queued <= 0;
    };
    let Messages: Message[] = [];
    if (mode === 'quick') {
      // A quick look first: a closed, drained channel then ends at once instead of after a long poll.
      ({ Messages = [] } = await receive(0));
      if (!Messages.length) mode = 'idle';
    }
    if (mode === 'idle' && (await drained())) return undefined;
    if (mode === 'long' && receives > 1) {
      const polls = await Promise.all([receive(waitTimeSeconds), ...Array.from({ length: receives - 1 }, () => receive(0))]);
      Messages = polls.flatMap((poll) => poll.Messages ?? []);
    } else if (!Messages.length && waitTimeSeconds > 0) ({ Messages = [] } = await receive(waitTimeSeconds));
    const deliveries: Delivery<T>[] = [];
    for (const message of Messages) {
      const delivery = await this.decode(message);
      if (delivery) deliveries.push(delivery);
    }
    return deliveries;
  }

  /**
   * For `range`: one poll, sorted. Copies (of a value in this poll or one the loop took before)
   * are held back, to be deleted with their value's ack; values already claimed (received
   * elsewhere, or before) are deleted unseen; the rest is fresh. One consistent BatchGetItem reads
   * the claim markers and the channel's counts. Duplicates racing through two receivers at the
   * same moment can still both reach a body: range processing is at-least-once.
   */
  private async takeBatch(
    max: number,
    mode: PollMode,
    receives: number,
    loop: RangeLoop,
    signal: AbortSignal | undefined,
  ): Promise<Batch<T> | undefined> {
    // Before judging the channel drained, this loop's own acks must be in its counts.
    const deliveries = await this.fetch(max, signal, this.waitTimeSeconds, mode, receives, () => loop.acks);
    if (deliveries === undefined) return undefined;
    const { taken } = loop;
    const candidates = new Map<string, Delivery<T>>();
    const copies: Delivery<T>[] = [];
    for (const delivery of deliveries) {
      const { id } = delivery.envelope;
      if (taken.has(id) || candidates.has(id)) copies.push(delivery);
      else candidates.set(id, delivery);
    }
    if (!candidates.size) return { fresh: [], copies, last: false, waiting: 0, nextPoll: copies.length ? 'quick' : 'idle' };
    // Values this loop holds and has not claimed yet may still be in the channel's count.
    const held = loop.unclaimed;
    const { claimed, meta } = await this.lookUp([...candidates.keys()], signal);
    const fresh = [...candidates.values()].filter((delivery) => !claimed.has(delivery.envelope.id));
    const stale = [...candidates.values()].filter((delivery) => claimed.has(delivery.envelope.id));
    if (stale.length) await this.deleteAll(stale, signal);
    for (const delivery of fresh) taken.add(delivery.envelope.id);
    loop.unclaimed += fresh.length;
    if (meta === undefined) return { fresh, copies, last: false, waiting: 0, nextPoll: 'quick' };
    const remaining = Math.max(0, (readNumber(meta, 'queued') ?? 0) - fresh.length);
    const waiting = Math.max(0, remaining - held);
    return {
      fresh,
      copies,
      // Closed, and nothing in it beyond this batch: once this batch is acked, the channel is drained.
      last: remaining === 0 && meta.closedAt !== undefined,
      waiting,
      // Values beyond what this loop holds: they are in the queue or on their way; else look quickly.
      nextPoll: waiting > 0 ? 'long' : 'quick',
    };
  }

  /**
   * Which of these message ids are claimed already, and the channel's meta item, in one
   * consistent BatchGetItem. Keys DynamoDB leaves unprocessed are asked again a few times; any
   * still unknown count as unclaimed (the claim catches them) and the meta item as unknown.
   */
  private async lookUp(ids: string[], signal: AbortSignal | undefined): Promise<{ claimed: Set<string>; meta: Item | undefined }> {
    const claimed = new Set<string>();
    const metaKey = keys.channel(this.name);
    let meta: Item | undefined;
    let request: Record<string, AttributeValue>[] | undefined = [metaKey, ...ids.map((id) => keys.channelMessage(this.name, id))];
    for (let attempt = 0; request?.length && attempt < LOOKUP_ATTEMPTS; attempt++) {
      if (attempt) await sleep(pollDelayMs(attempt, this.poll), signal);
      const keysNow: Record<string, AttributeValue>[] = request;
      const { Responses = {}, UnprocessedKeys = {} }: BatchGetItemCommandOutput = await abortable(signal, () =>
        this.dynamodb.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keysNow, ConsistentRead: true } } }),
          callOptions(signal),
        ),
      );
      for (const item of Responses[this.tableName] ?? []) {
        if (item.sk?.S === metaKey.sk.S) {
          checkVersion(item);
          meta = item;
        } else if (item.sk?.S?.startsWith('msg#')) claimed.add(item.sk.S.slice('msg#'.length));
      }
      request = UnprocessedKeys[this.tableName]?.Keys;
    }
    return { claimed, meta };
  }

  private async decode(message: Message): Promise<Delivery<T> | undefined> {
    let envelope: Envelope<unknown>;
    try {
      envelope = decodeEnvelope(message.Body ?? '');
    } catch (err) {
      await this.countOut(message.Body ?? '', receiveCount(message));
      await this.setAside(message, (err as Error).message);
      return undefined;
    }
    if (this.schema) {
      const result = await check(this.schema, envelope.body);
      if (!result.ok) {
        // It was counted when sent: count it out as well, or the channel would never drain.
        await this.claim([{ envelope: envelope as Envelope<T>, receiptHandle: message.ReceiptHandle!, receives: receiveCount(message) }]);
        await this.setAside(message, new MalformedEnvelopeError('body', describeIssues(result.issues)).message);
        return undefined;
      }
      envelope = { ...envelope, body: result.value };
    }
    return { envelope: envelope as Envelope<T>, receiptHandle: message.ReceiptHandle!, receives: receiveCount(message), message };
  }

  /**
   * A malformed message that still names a valid id was counted in by its sender: count it out
   * (once, like any claim: a copy or a redrive of it finds its marker), or a closed channel would
   * never drain. A message without a valid id was never counted.
   */
  private async countOut(body: string, receives: number): Promise<void> {
    const id = countedIdOf(body);
    if (id === undefined) return;
    const envelope: Envelope<T> = { id, traceId: id, parent: null, sentAt: 0, body: undefined as T };
    await this.claim([{ envelope, receiptHandle: '', receives }]);
  }

  /** A message no receiver can use: to the dead-letter queue with its reason, or left for the queue's redrive. */
  private async setAside(message: Message, reason: string): Promise<void> {
    if (!this.deadLetterQueueUrl) return; // stays invisible; the queue's redrive policy moves it after maxReceiveCount
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: message.Body ?? '',
        MessageAttributes: {
          'fnmesh-reason': { DataType: 'String', StringValue: reason.slice(0, 1024) },
          'fnmesh-channel': { DataType: 'String', StringValue: this.name },
        },
        ...(this.deadLetterQueueUrl.endsWith('.fifo')
          ? { MessageGroupId: 'dead-letters', MessageDeduplicationId: message.MessageId ?? String(Date.now()) }
          : {}),
      }),
    );
    await this.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: [{ Id: '0', ReceiptHandle: message.ReceiptHandle! }] }),
    );
  }

  /**
   * Values whose handler failed: to the dead-letter queue with the error as reason once they have
   * had `deadLetterAfter` deliveries (not claimed: they stay counted until redriven and handled),
   * else back to the queue after a delay that doubles with each delivery (1 s … 60 s).
   */
  private async handleFailures(
    failures: { delivery: Delivery<T>; error: unknown }[],
    deadLetterAfter: number | undefined,
    summary: ConsumeSummary | undefined,
  ): Promise<void> {
    const retry: Delivery<T>[] = [];
    for (const { delivery, error } of failures) {
      if (deadLetterAfter !== undefined && delivery.receives >= deadLetterAfter && delivery.message) {
        const reason = `handler failed on delivery ${delivery.receives}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        await this.setAside(delivery.message, reason);
        if (summary) summary.deadLettered++;
      } else retry.push(delivery);
    }
    await this.putBack(retry, (delivery) => Math.min(2 ** Math.max(0, delivery.receives - 1), 60));
  }

  /** Deletes messages, 10 to a call, the calls side by side. */
  private async deleteAll(deliveries: Delivery<T>[], signal: AbortSignal | undefined): Promise<void> {
    const chunks: Delivery<T>[][] = [];
    for (let start = 0; start < deliveries.length; start += SQS_BATCH) chunks.push(deliveries.slice(start, start + SQS_BATCH));
    await Promise.all(
      chunks.map((chunk) =>
        abortable(signal, () =>
          this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: chunk.map((delivery, index) => ({ Id: String(index), ReceiptHandle: delivery.receiptHandle })),
            }),
            callOptions(signal),
          ),
        ),
      ),
    );
  }

  /**
   * Makes messages visible again, at once or after `delaySeconds` (not bound to a signal: it runs
   * when a loop is left).
   */
  private async putBack(deliveries: Delivery<T>[], delaySeconds: (delivery: Delivery<T>) => number = () => 0): Promise<void> {
    for (let start = 0; start < deliveries.length; start += SQS_BATCH) {
      const chunk = deliveries.slice(start, start + SQS_BATCH);
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((delivery, index) => ({
            Id: String(index),
            ReceiptHandle: delivery.receiptHandle,
            VisibilityTimeout: delaySeconds(delivery),
          })),
        }),
      );
    }
  }

  /**
   * Acks `done` (claims them, then deletes them and `alsoDelete`, copies of values claimed
   * already) and returns `back` to the queue at once. @returns the envelopes this call claimed
   * (duplicates excluded)
   */
  private async settle(
    done: Delivery<T>[],
    back: Delivery<T>[],
    alsoDelete: Delivery<T>[],
    signal: AbortSignal | undefined,
  ): Promise<Envelope<T>[]> {
    if (back.length) await this.putBack(back);
    const claimed = done.length ? await this.claim(done, signal) : [];
    await this.deleteAll([...done, ...alsoDelete], signal);
    return claimed;
  }

  /**
   * Counts deliveries out of the channel, once per message id: one transaction of a marker per
   * message (if absent) and the counters. Markers that exist are duplicates: dropped, and the
   * transaction is retried with the rest. Each marker names this claim: if the markers that
   * refused a retry are this claim's own, an earlier attempt whose answer was lost applied the
   * whole transaction, and the claim succeeded. @returns the envelopes that were claimed now
   */
  private async claim(deliveries: Delivery<T>[], signal?: AbortSignal): Promise<Envelope<T>[]> {
    let pending = [...new Map(deliveries.map((delivery) => [delivery.envelope.id, delivery.envelope])).values()];
    const now = Date.now();
    while (pending.length) {
      const claimId = randomUUID();
      const markers = pending.map((envelope) => ({
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.channelMessage(this.name, envelope.id),
            v: n(FORMAT_VERSION),
            receivedAt: n(now),
            claimId: { S: claimId },
            expiresAt: ttlSeconds(now + MARKER_TTL_MS),
          } satisfies Item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      }));
      const counters = {
        Update: {
          TableName: this.tableName,
          Key: keys.channel(this.name),
          UpdateExpression: 'ADD #received :count, #queued :minus',
          ExpressionAttributeNames: { '#received': 'received', '#queued': 'queued' },
          ExpressionAttributeValues: { ':count': n(pending.length), ':minus': n(-pending.length) } as Record<string, AttributeValue>,
        },
      };
      try {
        await transactWrite(this.dynamodb, `channel ${this.name}: claim`, { TransactItems: [...markers, counters] }, signal);
        return pending;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const refusals = (err.CancellationReasons ?? []).flatMap((reason, index) =>
          reason.Code === 'ConditionalCheckFailed' && index < pending.length ? [{ index, claimedBy: reason.Item?.claimId?.S }] : [],
        );
        if (!refusals.length) throw err;
        if (refusals.some((refusal) => refusal.claimedBy === claimId)) return pending; // our own lost answer
        const duplicates = new Set(refusals.map((refusal) => refusal.index));
        pending = pending.filter((_, index) => !duplicates.has(index));
      }
    }
    return [];
  }
}

/** A `range` poll, sorted (see takeBatch). */
interface Batch<T> {
  /** Values to hand to the loop body: one per message id, none claimed before. */
  fresh: Delivery<T>[];
  /** More copies of values this loop took: deleted with their value's ack, or put back with it. */
  copies: Delivery<T>[];
  /** Closed, and nothing in it beyond `fresh`: once this batch is acked, the channel is drained. */
  last: boolean;
  /** Values counted in the channel that neither this batch nor earlier unacked ones of the loop hold. */
  waiting: number;
  /** How to poll for the batch after this one. */
  nextPoll: PollMode;
}

/** What a `range` loop keeps between batches. */
interface RangeLoop {
  /** Ids of values the loop took: later copies of them are not values. */
  taken: RecentIds;
  /** Values the loop took whose acks have not finished. */
  unclaimed: number;
  /** The chain of acks, one after another. */
  acks: Promise<unknown>;
}

type PollMode = 'quick' | 'idle' | 'long';

/** A set of the last `limit` ids added (the oldest are forgotten first). */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly limit: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  delete(id: string): void {
    this.ids.delete(id);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value!);
  }
}

function receiveCount(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1;
}

interface PreparedMessage<T> {
  envelope: Envelope<T>;
  text: string;
}
