/**
 * Channel<T>: Go's `chan T` on an SQS queue, with exact close and bounded capacity kept in the
 * channel's ledger in the mesh table (ledger.ts; never SQS's approximate counts).
 *
 *   send        count in: meta ADD sent k, queued k  if not closed (and there is room), with an
 *               intent naming the k ids; SendMessage / SendMessageBatch of envelopes
 *               (docs/wire-format.md); settle: the intent deleted, what SQS refused counted out,
 *               what may or may not have gone abandoned (counted out; a late copy is set aside)
 *   receive     ReceiveMessage, then the claim: a `done` marker msg#<id> per message + ADD
 *               received k, queued -k, in one transaction; then DeleteMessageBatch
 *   range       ReceiveMessage, a `held` marker per message (no other receiver hands the value to
 *               a body meanwhile), the body, then the ack: each hold made `done` + the counts
 *   close       UpdateItem SET closedAt  if not closed
 *   drained     closedAt set and queued = 0: receivers get { ok: false }, range ends
 *
 * A value is counted out of the channel exactly once, and reaches at most one body at a time: a
 * copy (SQS is at-least-once) finds the value's marker and is deleted, or, while another
 * receiver holds the value, comes back once that hold ends.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  ChannelClosedError,
  ChannelSendError,
  type ChannelSendFailure,
  ChannelValueAbandonedError,
  ChannelValueHeldError,
  InvalidInputError,
  MalformedEnvelopeError,
  MeshConfigError,
  PayloadTooLargeError,
} from '../errors.ts';
import { abortable, type BackoffOptions, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { check, describeIssues, type Schema } from '../schema.ts';
import { checkName, readNumber } from '../table/layout.ts';
import { countedIdOf, decodeEnvelope, type Envelope, encodeEnvelope, envelopeOf, type TraceContext } from './envelope.ts';
import { ChannelLedger, CLOCK_SKEW_MS, type Hold, MAX_IDS_PER_WRITE, type TakeOutcome } from './ledger.ts';

/** SQS's default (and, for most queues, actual) largest message: 256 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;
const SQS_BATCH = 10;
/** SQS's default visibility timeout, and the longest a message can be made invisible (12 h). */
const DEFAULT_VISIBILITY_SECONDS = 30;
const MAX_VISIBILITY_SECONDS = 43_200;
const SEND_RETRIES = 3;
const DEFAULT_SEND_LEASE_MS = 60_000;
/** A sender's calls to SQS end this long before its lease does (at most a quarter of it). */
const SEND_LEASE_MARGIN_MS = 1000;
const SEND_CONCURRENCY = 4;
/** How often one receiver looks for senders' intents whose lease has ended (closed channels only). */
const STALE_SENDS_EVERY_MS = 2000;
/** `range` fetches the next batch while the body works when a batch takes the body less than this. */
const PREFETCH_WITHIN_MS = 1000;
/** How many message ids a `range` loop remembers, to know copies of values it took. */
const TAKEN_IDS_KEPT = 10_000;
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
  /**
   * How long a sender may take to send what it counted in (its intent's lease). A sender that
   * has not settled its send by then — it died, or is cut off — has its values abandoned by
   * the next receiver that waits on the closed channel (a copy that arrives later is set aside
   * in the dead-letter queue, never delivered). @default 60000
   */
  sendLeaseMs?: number;
  /**
   * The queue's visibility timeout, which is how long a loop body's hold on a value lasts.
   * @default read from the queue once (1 GetQueueAttributes per Channel object)
   */
  visibilityTimeoutSeconds?: number;
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
  /** Values counted out unsent: their senders could not tell whether SQS took them. */
  abandoned: number;
  /** Values sent and not yet received (nor abandoned): Go's `len(ch)`. */
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
  /** For a loop body: the hold that keeps the value from other receivers until it is acked. */
  hold?: Hold;
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
  private readonly sendLeaseMs: number;
  private readonly ledger: ChannelLedger;
  private visibilityTimeoutMs: Promise<number> | undefined;
  private staleSendsCheckedAt = 0;

  constructor(options: ChannelOptions<T>) {
    if (!options?.sqs || !options.dynamodb) throw new MeshConfigError('Channel needs an SQS client and a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Channel needs the mesh table name');
    if (!options.queueUrl) throw new MeshConfigError('Channel needs its queue URL');
    const { capacity, waitTimeSeconds = 2, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, sendLeaseMs = DEFAULT_SEND_LEASE_MS } = options;
    if (capacity !== undefined && !(Number.isSafeInteger(capacity) && capacity > 0)) {
      throw new MeshConfigError(`capacity must be a positive integer (unbuffered channels are not supported), got ${capacity}`);
    }
    if (!(Number.isInteger(waitTimeSeconds) && waitTimeSeconds >= 0 && waitTimeSeconds <= 20)) {
      throw new MeshConfigError(`waitTimeSeconds must be an integer from 0 to 20, got ${waitTimeSeconds}`);
    }
    if (!(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes > 0))
      throw new MeshConfigError(`maxMessageBytes must be a positive integer`);
    if (!(Number.isSafeInteger(sendLeaseMs) && sendLeaseMs >= 1000))
      throw new MeshConfigError(`sendLeaseMs must be an integer of at least 1000, got ${sendLeaseMs}`);
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
    this.sendLeaseMs = sendLeaseMs;
    const { visibilityTimeoutSeconds } = options;
    if (visibilityTimeoutSeconds !== undefined) {
      if (!(
        Number.isInteger(visibilityTimeoutSeconds) &&
        visibilityTimeoutSeconds >= 0 &&
        visibilityTimeoutSeconds <= MAX_VISIBILITY_SECONDS
      ))
        throw new MeshConfigError(`visibilityTimeoutSeconds must be an integer from 0 to ${MAX_VISIBILITY_SECONDS}`);
      this.visibilityTimeoutMs = Promise.resolve(visibilityTimeoutSeconds * 1000);
    }
    this.ledger = new ChannelLedger(this.dynamodb, this.tableName, this.name, capacity, this.poll);
  }

  // --- sending -------------------------------------------------------------------------------

  /**
   * Sends one value. Go: `ch <- value`. On a bounded channel, waits while it is full.
   * Cost: 1 TransactWriteItems (count in, with the send's intent) + 1 SendMessage + 1
   * TransactWriteItems (settle the intent) (+ 1 TransactWriteItems per poll while full).
   * @returns the envelope sent (its id and trace id)
   * @throws ChannelClosedError; ChannelSendError when SQS refused the value or its fate is
   *   unknown (then it is abandoned: see "Sends whose outcome is unknown" in docs/wire-format.md);
   *   InvalidInputError (schema), PayloadTooLargeError — the last two before any call
   */
  async send(value: T, options: SendOptions = {}): Promise<Envelope<T>> {
    const [message] = await this.prepare([value], options.trace);
    const { failures, cause } = await this.sendUnit([[message!]], options.signal);
    if (failures.length) throw new ChannelSendError(this.name, failures, { cause });
    return message!.envelope;
  }

  /**
   * Sends many values in SendMessageBatch calls of up to 10 (and within the size limit), up to 4
   * batches in flight on a standard queue (FIFO: one at a time, in order); entries a batch fails
   * are retried, and what still fails is counted out and reported. Values are counted in by up to
   * 50 at a time on an unbounded channel, a batch at a time on a bounded one (as there is room).
   * Cost per 10 values: 1 SendMessageBatch; per count-in (50 values unbounded, 10 bounded):
   * 2 TransactWriteItems (count in; settle).
   * @throws ChannelSendError listing what was not sent (or whose fate is unknown: abandoned);
   *   ChannelClosedError (its `sentIndexes` say which values went before the channel closed);
   *   ChannelCapacityError; InvalidInputError / PayloadTooLargeError before any call
   */
  async sendMany(values: readonly T[], options: SendOptions = {}): Promise<Envelope<T>[]> {
    const messages = await this.prepare(values, options.trace);
    const indexOf = new Map(messages.map((message, index) => [message, index]));
    const batches: PreparedMessage<T>[][] = [];
    let batch: PreparedMessage<T>[] = [];
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
    // Units counted in together: a batch on a bounded channel (counted as there is room), up to
    // 50 values on an unbounded one (one transaction settles them all).
    const units: PreparedMessage<T>[][][] = [];
    for (const next of batches) {
      const unit = units.at(-1);
      const size = unit?.reduce((sum, unitBatch) => sum + unitBatch.length, 0) ?? 0;
      if (unit && this.capacity === undefined && size + next.length <= MAX_IDS_PER_WRITE) unit.push(next);
      else units.push([next]);
    }
    // Standard queues have no order to keep: up to 4 units in flight. FIFO queues: one at a time.
    const inFlight = this.fifo ? 1 : SEND_CONCURRENCY;
    let nextUnit = 0;
    const errors: unknown[] = [];
    const notSent: ChannelSendFailure[] = [];
    let cause: unknown;
    const sentIndexes: number[] = [];
    await Promise.all(
      Array.from({ length: Math.min(inFlight, units.length) }, async () => {
        while (nextUnit < units.length && !errors.length && !notSent.length) {
          const unit = units[nextUnit++]!;
          try {
            const outcome = await this.sendUnit(unit, options.signal);
            const failed = new Set(outcome.failures.map((failure) => failure.id));
            for (const message of unit.flat()) if (!failed.has(message.envelope.id)) sentIndexes.push(indexOf.get(message)!);
            notSent.push(...outcome.failures);
            cause ??= outcome.cause;
          } catch (err) {
            errors.push(err);
          }
        }
      }),
    );
    // Units never started: not counted in, not sent.
    for (const unit of units.slice(nextUnit))
      for (const message of unit.flat())
        notSent.push({
          id: message.envelope.id,
          index: message.index,
          code: 'NotAttempted',
          message: 'an earlier part of this sendMany failed',
        });
    const [first] = errors;
    // Closed midway (a bounded channel counts each batch in as it goes): say which values went.
    if (first instanceof ChannelClosedError)
      throw new ChannelClosedError(
        this.name,
        `send on closed channel ${this.name}: ${sentIndexes.length} of ${values.length} values were sent before it closed (sentIndexes)`,
        sentIndexes.sort((a, b) => a - b),
      );
    if (first !== undefined) throw first;
    if (notSent.length) throw new ChannelSendError(this.name, notSent, { cause });
    return messages.map((message) => message.envelope);
  }

  /**
   * One count-in unit: counts its values in with an intent, sends its batches one after another
   * (within the intent's lease), then settles the intent: what SQS refused is counted out, what
   * may or may not have reached the queue is abandoned (a copy that arrives later is set aside,
   * never delivered), what went is confirmed.
   * @returns the values that did not go, each with the reason (empty: all went), and the error
   *   that left values unknown
   * @throws ChannelClosedError / ChannelCapacityError (count in); MeshAbortError; the SDK's error
   *   when SQS refused the whole unit outright (nothing of it is in the queue)
   */
  private async sendUnit(
    batches: PreparedMessage<T>[][],
    signal: AbortSignal | undefined,
  ): Promise<{ failures: ChannelSendFailure[]; cause?: unknown }> {
    const messages = batches.flat();
    const intent = await this.ledger.countIn(
      messages.map((message) => message.envelope.id),
      this.sendLeaseMs,
      signal,
    );
    // Every call to SQS ends before the lease does, so a receiver that finds the intent stale
    // knows its sender is no longer sending.
    const margin = Math.min(SEND_LEASE_MARGIN_MS, this.sendLeaseMs / 4);
    const withinLease = AbortSignal.any([AbortSignal.timeout(this.sendLeaseMs - margin), ...(signal ? [signal] : [])]);
    const fates = new Map<string, SendFate>();
    let error: unknown;
    for (const batch of batches) {
      error = await this.deliver(batch, fates, withinLease);
      if (error !== undefined) break;
    }
    const ids = messages.map((message) => message.envelope.id);
    const notSent = ids.filter((id) => fates.get(id) === undefined || fates.get(id)!.fate === 'refused');
    const unknown = ids.filter((id) => fates.get(id)?.fate === 'unknown');
    const settled = await this.ledger.settleSend(intent, notSent, unknown);
    const abandoned = new Set(settled.abandoned);
    const failures: ChannelSendFailure[] = [];
    for (const { envelope, index } of messages) {
      const { id } = envelope;
      const fate = fates.get(id);
      if (abandoned.has(id))
        failures.push({
          id,
          index,
          code: 'OutcomeUnknown',
          message: settled.resolvedElsewhere
            ? 'the send outlived its lease and was abandoned: a copy that reaches the queue is set aside'
            : 'SQS may or may not have taken it: abandoned (a copy that reaches the queue is set aside)',
        });
      else if (fate === undefined) failures.push({ id, index, code: 'NotAttempted', message: 'an earlier batch of this send failed' });
      else if (fate.fate === 'refused') failures.push({ id, index, code: fate.code, message: fate.message });
    }
    if (error !== undefined && signal?.aborted) throw error; // the caller's abort, after settling
    if (error !== undefined && failures.length === ids.length && !abandoned.size) throw error; // refused outright
    return { failures, ...(error === undefined ? {} : { cause: error }) };
  }

  /**
   * Sends one batch (SendMessage for one value, SendMessageBatch for more), retrying entries SQS
   * reports failed, and records each entry's fate: sent (an answer said so); unknown (an attempt
   * whose answer never came, or that the SDK itself retried, may have put it in the queue);
   * refused (SQS said no, and no attempt may have applied it). @returns the error that stopped it
   */
  private async deliver(batch: PreparedMessage<T>[], fates: Map<string, SendFate>, signal: AbortSignal): Promise<unknown> {
    const sent = new Set<string>();
    const maybe = new Set<string>();
    const refusals = new Map<string, { code: string; message: string }>();
    let pending = batch;
    let error: unknown;
    for (let attempt = 0; pending.length && attempt < SEND_RETRIES; attempt++) {
      try {
        if (attempt) await sleep(pollDelayMs(attempt, this.poll), signal);
        error = undefined;
        if (batch.length === 1) {
          const [message] = batch;
          await abortable(signal, () =>
            this.sqs.send(
              new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: message!.text, ...this.fifoFields(message!) }),
              callOptions(signal),
            ),
          );
          sent.add(message!.envelope.id);
          pending = [];
          break;
        }
        const entries = pending.map((message, index) => ({ Id: String(index), MessageBody: message.text, ...this.fifoFields(message) }));
        const output = await abortable(signal, () =>
          this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }), callOptions(signal)),
        );
        // An SDK retry of the whole call: an earlier attempt may have put in what this one failed.
        const retried = (output.$metadata.attempts ?? 1) > 1;
        const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
        const next: PreparedMessage<T>[] = [];
        pending.forEach((message, index) => {
          const id = message.envelope.id;
          const entry = failed.get(String(index));
          if (!entry) return void sent.add(id);
          if (retried) maybe.add(id);
          refusals.set(id, { code: entry.Code ?? 'Unknown', message: entry.Message ?? '' });
          // A sender's fault (a bad entry) will not succeed on retry.
          if (!entry.SenderFault) next.push(message);
        });
        pending = next;
      } catch (err) {
        error = err;
        const refused = definitelyRefused(err);
        for (const message of pending) {
          if (refused) refusals.set(message.envelope.id, { code: (err as Error).name, message: (err as Error).message });
          else maybe.add(message.envelope.id);
        }
        // Refused outright (a missing queue, a bad request) or out of time: retrying will not help.
        if (refused || signal.aborted) break;
      }
    }
    for (const message of batch) {
      const id = message.envelope.id;
      const refusal = refusals.get(id);
      if (sent.has(id)) fates.set(id, { fate: 'sent' });
      else if (maybe.has(id) || !refusal) fates.set(id, { fate: 'unknown' });
      else fates.set(id, { fate: 'refused', ...refusal });
    }
    return error;
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
      prepared.push({ envelope, text, index });
    }
    return prepared;
  }

  private async validate(value: unknown, path: string): Promise<T> {
    if (!this.schema) return value as T;
    const result = await check(this.schema, value);
    if (!result.ok) throw new InvalidInputError(path, describeIssues(result.issues));
    return result.value;
  }

  // --- closing and status ----------------------------------------------------------------------

  /**
   * Closes the channel: later sends fail; receivers drain what was sent before, then get
   * `{ ok: false }`. Go: `close(ch)`. Cost: 1 UpdateItem.
   * @throws ChannelClosedError if it was closed already (Go: "close of closed channel")
   */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.ledger.close(options.signal);
  }

  /** Counts and state, exact (consistent read of the meta item). Cost: 1 GetItem. */
  async status(options: { signal?: AbortSignal } = {}): Promise<ChannelStatus> {
    return { ...(await this.ledger.status(options.signal)), capacity: this.capacity };
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
      const claimed = await this.claimDeliveries(deliveries, options.signal);
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
          const previous = loop.acks;
          const ack = previous
            .then(async () => {
              // Holds given up first, so the values are free to take when they come back.
              await this.ledger.release(holdsOf([...rest, ...failed]));
              await this.putBack([...rest, ...copiesBack]);
              if (finished.length) await this.ledger.ack(holdsOf(finished), signal);
              await this.deleteAll([...finished, ...copiesDone], signal);
              if (failures.length) await this.handleFailures(failures, options.deadLetterAfter, summary);
            })
            .then(() => (loop.unclaimed -= batch.fresh.length));
          loop.acks = ack;
          ack.catch((error: unknown) => (ackFailure ??= { error }));
          if (rest.length) await ack;
          // At most one ack behind: when acks are slow (a hot meta item's conflicts), the loop
          // waits rather than take more values whose holds would run out before their acks.
          else await previous.catch(() => undefined);
        }
        // The last batch ends the loop, unless values of it failed: they come back to be received.
        if (batch.last && !failures.length) return;
        if (failures.length) poll = 'quick';
        receives = 1;
      }
    } finally {
      const unused = await prefetched?.catch(() => undefined);
      if (unused) {
        await this.ledger.release(holdsOf(unused.fresh));
        await this.putBack([...unused.fresh, ...unused.copies]);
      }
      await loop.acks;
    }
  }

  /**
   * For consumers that SQS itself feeds (a Lambda event source mapping): handles one record of the
   * channel's queue. The value is held for this call (no other receiver hands it to a body
   * meanwhile), `handle` runs, and if it succeeds the value is counted out of the channel (the
   * event source deletes the message); if it throws, the hold is given up and the error goes on
   * (report the record as a batch item failure: it comes back). A copy of a value received
   * before is skipped. A record that is not a valid envelope, or fails the schema, throws
   * MalformedEnvelopeError: report it as a batch item failure and the queue's redrive
   * dead-letters it (if it names a valid id, its sender counted it in: it is counted out here).
   * Cost: 2 TransactWriteItems per record (hold, ack), + 1 GetQueueAttributes per Channel object.
   * @returns false if the record was a copy of a value received before and `handle` did not run
   * @throws ChannelValueHeldError when another receiver has the value now (report the record as a
   *   batch item failure: the copy comes back after the visibility timeout, and is then skipped
   *   or handled); ChannelValueAbandonedError for a value its sender gave up (report it as a
   *   failure too: the queue's redrive dead-letters it)
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
      if (err instanceof MalformedEnvelopeError) await this.countOut(record.body);
      throw err;
    }
    const taking = await this.ledger.hold([envelope.id], await this.holdMs(options.signal), options.signal);
    const [inFlight] = taking.inFlight;
    if (inFlight) throw new ChannelValueHeldError(this.name, envelope.id, inFlight.until);
    if (taking.abandoned.length) throw new ChannelValueAbandonedError(this.name, envelope.id);
    if (!taking.holds.length) return false; // received before: a duplicate
    try {
      await handle(envelope.body, envelope);
    } catch (err) {
      await this.ledger.release(taking.holds);
      throw err;
    }
    return (await this.ledger.ack(taking.holds, options.signal)).length > 0;
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
    const [envelope] = await this.claimDeliveries(deliveries, signal);
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
      let status = await this.ledger.status(signal);
      // Closed and still waiting for values: values of senders that died (or were cut off)
      // before settling their sends are given up once their leases end (looked for at most every
      // 2 s by this object: a lease is seconds long, and each look is a Query).
      if (status.closed && status.queued > 0 && Date.now() - this.staleSendsCheckedAt >= STALE_SENDS_EVERY_MS) {
        this.staleSendsCheckedAt = Date.now();
        if ((await this.ledger.abandonStaleSends(signal)) > 0) status = await this.ledger.status(signal);
      }
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
    const { markers, meta } = await this.ledger.lookUp([...candidates.keys()], signal);
    // Markers read now sort out most copies; the rest is held for this loop's body, so no other
    // receiver hands the value to a body of its own while this one works.
    const outcome: TakeOutcome = { taken: [], done: [], inFlight: [], abandoned: [] };
    const free: string[] = [];
    for (const id of candidates.keys()) {
      const marker = markers.get(id);
      if (!marker) free.push(id);
      else if (marker.state === 'done') outcome.done.push(id);
      else if (marker.state === 'abandoned') outcome.abandoned.push(id);
      else if ((marker.heldUntil ?? 0) + CLOCK_SKEW_MS >= Date.now()) outcome.inFlight.push({ id, until: marker.heldUntil! });
      else free.push(id);
    }
    const holds = new Map<string, Hold>();
    if (free.length) {
      const taking = await this.ledger.hold(free, await this.holdMs(signal), signal);
      for (const hold of taking.holds) holds.set(hold.id, hold);
      outcome.done.push(...taking.done);
      outcome.inFlight.push(...taking.inFlight);
      outcome.abandoned.push(...taking.abandoned);
    }
    await this.dispose(
      [...candidates.values()].filter((delivery) => !holds.has(delivery.envelope.id)),
      outcome,
      signal,
    );
    const fresh = [...candidates.values()].flatMap((delivery) => {
      const hold = holds.get(delivery.envelope.id);
      return hold ? [{ ...delivery, hold }] : [];
    });
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

  private async decode(message: Message): Promise<Delivery<T> | undefined> {
    let envelope: Envelope<unknown>;
    try {
      envelope = decodeEnvelope(message.Body ?? '');
    } catch (err) {
      await this.countOut(message.Body ?? '');
      await this.setAside(message, (err as Error).message);
      return undefined;
    }
    if (this.schema) {
      const result = await check(this.schema, envelope.body);
      if (!result.ok) {
        // It was counted when sent: count it out as well, or the channel would never drain.
        await this.ledger.claim([envelope.id]);
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
  private async countOut(body: string): Promise<void> {
    const id = countedIdOf(body);
    if (id !== undefined) await this.ledger.claim([id]);
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
   * Moves deliveries out of the channel (receive, select): claims their ids, deletes them and
   * their copies, and disposes of what another receiver holds or a sender abandoned.
   * @returns the envelopes claimed now, one per id
   */
  private async claimDeliveries(deliveries: Delivery<T>[], signal: AbortSignal | undefined): Promise<Envelope<T>[]> {
    const outcome = await this.ledger.claim(
      deliveries.map((delivery) => delivery.envelope.id),
      signal,
    );
    const taken = new Set(outcome.taken);
    await this.dispose(deliveries, { ...outcome, taken: [], done: [...outcome.done, ...outcome.taken] }, signal);
    const claimed = new Map<string, Envelope<T>>();
    for (const { envelope } of deliveries) if (taken.has(envelope.id) && !claimed.has(envelope.id)) claimed.set(envelope.id, envelope);
    return [...claimed.values()];
  }

  /**
   * What to do with deliveries a receiver did not take: copies of values counted out already are
   * deleted; a value another receiver holds goes back to the queue until that hold ends (if the
   * holder fails, it is free then; if not, the copy is recognised and deleted); a value its
   * sender abandoned is set aside with the reason, never delivered.
   */
  private async dispose(deliveries: Delivery<T>[], outcome: TakeOutcome, signal: AbortSignal | undefined): Promise<void> {
    const done = new Set(outcome.done);
    const abandoned = new Set(outcome.abandoned);
    const inFlight = new Map(outcome.inFlight.map(({ id, until }) => [id, until]));
    await this.deleteAll(
      deliveries.filter((delivery) => done.has(delivery.envelope.id)),
      signal,
    );
    const now = Date.now();
    await this.putBack(
      deliveries.filter((delivery) => inFlight.has(delivery.envelope.id)),
      (delivery) => Math.min(MAX_VISIBILITY_SECONDS, Math.ceil((inFlight.get(delivery.envelope.id)! + CLOCK_SKEW_MS - now) / 1000) + 1),
    );
    for (const delivery of deliveries)
      if (abandoned.has(delivery.envelope.id) && delivery.message)
        await this.setAside(delivery.message, `abandoned by its sender (${delivery.envelope.id}): it arrived after its send was given up`);
  }

  /** How long a hold lasts: the queue's visibility timeout (given, or read once), the time SQS gives a receiver. */
  private holdMs(signal: AbortSignal | undefined): Promise<number> {
    if (!this.visibilityTimeoutMs) {
      const reading = abortable(signal, () =>
        this.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['VisibilityTimeout'] }),
          callOptions(signal),
        ),
      ).then(({ Attributes }) => Number(Attributes?.VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS) * 1000);
      reading.catch(() => (this.visibilityTimeoutMs = undefined));
      this.visibilityTimeoutMs = reading;
    }
    return this.visibilityTimeoutMs;
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

/** What became of one value a sender tried to put in the queue. */
type SendFate = { fate: 'sent' } | { fate: 'unknown' } | { fate: 'refused'; code: string; message: string };

/**
 * Whether SQS answered this error itself, on the only attempt: then the request was refused and
 * nothing of it applied. Anything else — no answer, a timeout, an abort, an error after SDK
 * retries (an earlier attempt may have been applied) — leaves the outcome unknown.
 */
function definitelyRefused(err: unknown): boolean {
  const service = err as { $fault?: string; $metadata?: { attempts?: number; httpStatusCode?: number } };
  return service?.$fault === 'client' && (service.$metadata?.attempts ?? 1) <= 1 && service.$metadata?.httpStatusCode !== undefined;
}

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

function holdsOf(deliveries: Iterable<Delivery<unknown>>): Hold[] {
  return [...deliveries].flatMap((delivery) => (delivery.hold ? [delivery.hold] : []));
}

function receiveCount(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1;
}

interface PreparedMessage<T> {
  envelope: Envelope<T>;
  text: string;
  /** The value's index in the call. */
  index: number;
}
