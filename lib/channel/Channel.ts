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
 *
 * This file is the facade: the public API, which checks its options and orchestrates the parts
 * (as rpc/RpcClient.ts does over rpc/protocol.ts):
 *
 *   types.ts      the options, results and what the parts hand each other
 *   ledger.ts     the mesh table's side (intents.ts: senders' count-in and settle; claims.ts:
 *                 receivers' claims, holds and acks)
 *   queue.ts      the SQS side: send batches, receive and decode, delete, put back, set aside
 *   receiving.ts  one poll and the drain check; taking deliveries out; disposing of the rest
 *   pipeline.ts   the `range` / `consume` loop: batches, prefetch, settling each batch
 *   batching.ts   the pure decisions (batches, count-in units, prefetch sizing, sorting a poll)
 *   retry.ts      when a value that failed comes back (consume, and workers via retryRecord)
 *   room.ts       a bounded channel's room signal: blocked senders long-poll it, count-outs send it
 *
 * Length: over the ~400 lines of lib/'s other files because it is the whole public surface:
 * about a third of it is the methods' documentation (Go's equivalent, the calls each makes, its
 * errors), which belongs beside them; the code left is option checks and orchestration.
 */
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
import { check, describeIssues, type Schema } from '../schema.ts';
import { checkName } from '../table/layout.ts';
import { countInUnits, fillBatches, notAttempted, sendFailures, sortFates } from './batching.ts';
import { Claims } from './claims.ts';
import { type Envelope, encodeEnvelope, envelopeOf, type TraceContext } from './envelope.ts';
import { SendIntents } from './intents.ts';
import { ChannelLedger, type Hold, MAX_IDS_PER_WRITE } from './ledger.ts';
import { deliveries } from './pipeline.ts';
import { ChannelQueue, decodeBody } from './queue.ts';
import { Receiver } from './receiving.ts';
import { ROOM_WAIT_SECONDS, RoomSignal } from './room.ts';
import { deliveriesOf, recordRetryDelaySeconds } from './retry.ts';
import {
  type ChannelOptions,
  type QueueRecord,
  type ChannelStatus,
  type ConsumeOptions,
  type ConsumeSummary,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_VISIBILITY_SECONDS,
  type RecordOutcome,
  type PreparedMessage,
  type Received,
  type SendFate,
  type SendOptions,
  SQS_BATCH,
  type Verdict,
} from './types.ts';

export {
  type ChannelOptions,
  type QueueRecord,
  type ChannelStatus,
  type ConsumeOptions,
  type ConsumeSummary,
  DEFAULT_MAX_MESSAGE_BYTES,
  type Received,
  type RecordOutcome,
  type SendOptions,
} from './types.ts';

const DEFAULT_SEND_LEASE_MS = 60_000;
/** A sender's calls to SQS end this long before its lease does (at most a quarter of it). */
const SEND_LEASE_MARGIN_MS = 1000;
const SEND_CONCURRENCY = 4;

export class Channel<T> {
  readonly name: string;
  readonly queueUrl: string;
  readonly capacity: number | undefined;
  private readonly schema: Schema<T> | undefined;
  private readonly maxMessageBytes: number;
  private readonly sendLeaseMs: number;
  private readonly ledger: ChannelLedger;
  private readonly intents: SendIntents;
  private readonly claims: Claims;
  private readonly queue: ChannelQueue<T>;
  private readonly receiver: Receiver<T>;
  private readonly room: RoomSignal | undefined;

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
    this.schema = options.schema;
    this.maxMessageBytes = maxMessageBytes;
    this.sendLeaseMs = sendLeaseMs;
    const { visibilityTimeoutSeconds } = options;
    if (visibilityTimeoutSeconds !== undefined) {
      if (!(
        Number.isInteger(visibilityTimeoutSeconds) &&
        visibilityTimeoutSeconds >= 0 &&
        visibilityTimeoutSeconds <= MAX_VISIBILITY_SECONDS
      ))
        throw new MeshConfigError(`visibilityTimeoutSeconds must be an integer from 0 to ${MAX_VISIBILITY_SECONDS}`);
    }
    const poll = options.poll ?? { baseMs: 50, maxMs: 1000 };
    const { roomQueueUrl, roomWaitSeconds = ROOM_WAIT_SECONDS } = options;
    if (roomQueueUrl !== undefined) RoomSignal.check(roomQueueUrl, options.queueUrl, roomWaitSeconds);
    this.room = roomQueueUrl === undefined ? undefined : new RoomSignal(options.sqs, roomQueueUrl, roomWaitSeconds);
    this.ledger = new ChannelLedger(options.dynamodb, options.tableName, this.name, poll);
    this.intents = new SendIntents(this.ledger, capacity, this.room);
    this.claims = new Claims(this.ledger, this.room);
    this.queue = new ChannelQueue({
      sqs: options.sqs,
      queueUrl: options.queueUrl,
      name: this.name,
      groupKey: options.groupKey ?? (() => 'default'),
      poll,
      deadLetterQueueUrl: options.deadLetterQueueUrl,
      visibilityTimeoutSeconds,
    });
    const parts = { ledger: this.ledger, intents: this.intents, claims: this.claims, queue: this.queue };
    this.receiver = new Receiver({ ...parts, schema: this.schema, waitTimeSeconds });
  }

  // --- sending -------------------------------------------------------------------------------

  /**
   * Sends one value. Go: `ch <- value`. On a bounded channel, waits while it is full.
   * Cost: 1 TransactWriteItems (count in, with the send's intent) + 1 SendMessage + 1 DeleteItem
   * (settle: the intent deleted; a TransactWriteItems if the settle counts the value out, SQS
   * having refused it or its fate being unknown) (on a bounded channel that this sender thinks full:
   * + 1 GetItem per poll while full; with a `roomQueueUrl`, per wake-up instead: 1 ReceiveMessage
   * of the room queue, 1 DeleteMessageBatch when a signal came, and 1 GetItem, or none when the
   * signal came: the count-in is tried at once).
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
   * 1 TransactWriteItems (count in) + 1 DeleteItem (settle; a TransactWriteItems if it counts
   * values out).
   * @throws ChannelSendError listing what was not sent (or whose fate is unknown: abandoned);
   *   ChannelClosedError (its `sentIndexes` say which values went before the channel closed);
   *   ChannelCapacityError; InvalidInputError / PayloadTooLargeError before any call
   */
  async sendMany(values: readonly T[], options: SendOptions = {}): Promise<Envelope<T>[]> {
    const messages = await this.prepare(values, options.trace);
    const indexOf = new Map(messages.map((message, index) => [message, index]));
    const batches = fillBatches(messages, Math.min(SQS_BATCH, this.capacity ?? SQS_BATCH), this.maxMessageBytes);
    // Units counted in together: a batch on a bounded channel (counted as there is room), up to
    // 50 values on an unbounded one (one transaction settles them all).
    const units = countInUnits(batches, this.capacity, MAX_IDS_PER_WRITE);
    // Standard queues have no order to keep: up to 4 units in flight. FIFO queues: one at a time.
    const inFlight = this.queue.fifo ? 1 : SEND_CONCURRENCY;
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
    notSent.push(...notAttempted(units.slice(nextUnit)));
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
    const intent = await this.intents.countIn(
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
      error = await this.queue.sendBatch(batch, fates, withinLease);
      if (error !== undefined) break;
    }
    const ids = messages.map((message) => message.envelope.id);
    const { notSent, unknown } = sortFates(ids, fates);
    const settled = await this.intents.settleSend(intent, notSent, unknown);
    const failures = sendFailures(messages, fates, settled);
    const abandoned = settled.abandoned;
    if (error !== undefined && signal?.aborted) throw error; // the caller's abort, after settling
    if (error !== undefined && failures.length === ids.length && !abandoned.length) throw error; // refused outright
    return { failures, ...(error === undefined ? {} : { cause: error }) };
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
    await this.room?.signal(); // senders blocked on a full channel learn of it at once
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
   * before it is returned. `signal` stops the wait (MeshAbortError); a value already taken from
   * the queue when it aborts is claimed and returned all the same, never dropped. Cost: 1
   * ReceiveMessage (+ 1 GetItem per empty poll), 1 TransactWriteItems, 1 DeleteMessageBatch.
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
      const deliveries = await this.receiver.fetch(max, options.signal);
      if (deliveries === undefined) return [];
      if (!deliveries.length) continue;
      const claimed = await this.receiver.claimDeliveries(deliveries); // never cut short by the signal
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
   * 2 TransactWriteItems (hold, ack), 1 DeleteMessageBatch per 10 values. A poll of one value
   * holds it with a PutItem alone, beside a GetItem of the counts (no read before the hold).
   */
  async *range(options: { signal?: AbortSignal; batchSize?: number } = {}): AsyncGenerator<T, void, undefined> {
    for await (const delivery of deliveries(this.receiver, options)) yield delivery.envelope.body;
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
      if (!this.queue.deadLetterQueueUrl)
        throw new MeshConfigError(`deadLetterAfter needs the channel's deadLetterQueueUrl (channel ${this.name})`);
    }
    const summary: ConsumeSummary = { handled: 0, failed: 0, deadLettered: 0 };
    const handed = deliveries(this.receiver, options, summary);
    let verdict: Verdict;
    for (;;) {
      const next = await handed.next(verdict);
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
   * For consumers that SQS itself feeds (a Lambda event source mapping): handles one record of the
   * channel's queue. The value is held for this call (no other receiver hands it to a body
   * meanwhile), `handle` runs, and if it succeeds the value is counted out of the channel (the
   * event source deletes the message); if it throws, the hold is given up and the error goes on
   * (report the record as a batch item failure: it comes back). A copy of a value received
   * before is skipped. A record that is not a valid envelope, or fails the schema, throws
   * MalformedEnvelopeError: report it as a batch item failure and the queue's redrive
   * dead-letters it (if it names a valid id, its sender counted it in: it is counted out here).
   * Cost: 1 PutItem (the hold) + 1 TransactWriteItems (the ack) per record, + 1 GetQueueAttributes
   * per Channel object.
   * @returns false if the record was a copy of a value received before and `handle` did not run
   *   (or `handle` ran, but its hold ran out and another receiver counted the value out meanwhile)
   * @throws ChannelValueHeldError when another receiver has the value now — before `handle`, or
   *   after it, when this call's hold ran out while it worked and another receiver took the value
   *   (report the record as a batch item failure: the copy comes back after the visibility
   *   timeout, or once the hold ends with `retryRecord`, and is then skipped or handled; deleting
   *   it could take the value from a holder that fails); ChannelValueAbandonedError for a value
   *   its sender gave up (report it as a failure too: the queue's redrive dead-letters it)
   */
  async acceptRecord(
    record: { body: string },
    handle: (value: T, envelope: Envelope<T>) => Promise<void>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const decoded = await decodeBody(record.body, this.schema);
    if (!decoded.ok) {
      // Dead-lettered by the queue's redrive, never received: counted out now, once.
      if (decoded.error instanceof MalformedEnvelopeError && decoded.countedId !== undefined) await this.claims.claim([decoded.countedId]);
      throw decoded.error;
    }
    const { envelope } = decoded;
    const taking = await this.claims.hold([envelope.id], await this.queue.holdMs(options.signal), options.signal);
    const [inFlight] = taking.inFlight;
    if (inFlight) throw new ChannelValueHeldError(this.name, envelope.id, inFlight.until);
    if (taking.abandoned.length) throw new ChannelValueAbandonedError(this.name, envelope.id);
    if (!taking.holds.length) return false; // received before: a duplicate
    try {
      await handle(envelope.body, envelope);
    } catch (err) {
      await this.claims.release(taking.holds);
      throw err;
    }
    const acked = await this.claims.ack(taking.holds, options.signal);
    // The hold ran out while `handle` worked and another receiver holds the value now: its message
    // is that receiver's, not to be deleted as this record's success would (see ack).
    const [elsewhere] = acked.heldElsewhere;
    if (elsewhere) throw new ChannelValueHeldError(this.name, envelope.id, elsewhere.until);
    return acked.acked.length > 0;
  }

  /**
   * `acceptRecord` for a whole batch an event source handed over: one hold for the values of all
   * its records, the handlers side by side, one ack for those that succeeded. Each record's
   * outcome is what `acceptRecord` would have given it (its result, or the error it would have
   * thrown: report those records as batch item failures); a second record of one value in the
   * batch is treated as a copy another receiver holds (ChannelValueHeldError). Cost per batch:
   * 2 TransactWriteItems (hold, ack; + 1 per round of refusals), 1 UpdateItem per failed handler,
   * + 1 GetQueueAttributes per Channel object — against a PutItem and a TransactWriteItems per
   * record, whose acks all write the channel's meta item at once (and conflict, on AWS), for
   * `acceptRecord`.
   * @returns one outcome per record, in order: `{ ok: true, handled }` (handled false: a copy of
   *   a value received before, the handler did not run) or `{ ok: false, error }`
   */
  async acceptRecords(
    records: readonly { body: string }[],
    handle: (value: T, envelope: Envelope<T>) => Promise<void>,
    options: { signal?: AbortSignal } = {},
  ): Promise<RecordOutcome[]> {
    if (records.length > MAX_IDS_PER_WRITE) {
      // One transaction holds or acks at most 50 values (the counts are a 51st item).
      const outcomes: RecordOutcome[] = [];
      for (let start = 0; start < records.length; start += MAX_IDS_PER_WRITE)
        outcomes.push(...(await this.acceptRecords(records.slice(start, start + MAX_IDS_PER_WRITE), handle, options)));
      return outcomes;
    }
    const outcomes: RecordOutcome[] = new Array(records.length);
    // Decoded, one record per value (the first); the rest of a value's records are copies.
    const owners = new Map<string, { index: number; envelope: Envelope<T> }>();
    const copies: { index: number; id: string }[] = [];
    const decoded = await Promise.all(records.map((record) => decodeBody(record.body, this.schema)));
    await Promise.all(
      decoded.map(async (result, index) => {
        if (result.ok) return;
        try {
          // Dead-lettered by the queue's redrive, never received: counted out now, once.
          if (result.error instanceof MalformedEnvelopeError && result.countedId !== undefined) await this.claims.claim([result.countedId]);
          outcomes[index] = { ok: false, error: result.error };
        } catch (error) {
          outcomes[index] = { ok: false, error };
        }
      }),
    );
    for (const [index, result] of decoded.entries()) {
      if (!result.ok) continue;
      const { envelope } = result;
      if (owners.has(envelope.id)) copies.push({ index, id: envelope.id });
      else owners.set(envelope.id, { index, envelope });
    }
    if (!owners.size) return outcomes;
    let taking: Awaited<ReturnType<Claims['hold']>>;
    try {
      taking = await this.claims.hold([...owners.keys()], await this.queue.holdMs(options.signal), options.signal);
    } catch (error) {
      for (const { index } of [...owners.values(), ...copies]) outcomes[index] = { ok: false, error };
      return outcomes;
    }
    const holds = new Map(taking.holds.map((hold) => [hold.id, hold]));
    const inFlight = new Map(taking.inFlight.map(({ id, until }) => [id, until]));
    const abandoned = new Set(taking.abandoned);
    const holdUntil = Date.now() + (await this.queue.holdMs(options.signal));
    for (const { index, id } of copies)
      outcomes[index] = { ok: false, error: new ChannelValueHeldError(this.name, id, inFlight.get(id) ?? holdUntil) };
    const succeeded: Hold[] = [];
    const failed: Hold[] = [];
    await Promise.all(
      [...owners].map(async ([id, { index, envelope }]) => {
        const until = inFlight.get(id);
        if (until !== undefined) return void (outcomes[index] = { ok: false, error: new ChannelValueHeldError(this.name, id, until) });
        if (abandoned.has(id)) return void (outcomes[index] = { ok: false, error: new ChannelValueAbandonedError(this.name, id) });
        const hold = holds.get(id);
        if (!hold) return void (outcomes[index] = { ok: true, handled: false }); // received before: a duplicate
        try {
          await handle(envelope.body, envelope);
          succeeded.push(hold);
        } catch (error) {
          failed.push(hold);
          outcomes[index] = { ok: false, error };
        }
      }),
    );
    const releasing = this.claims.release(failed).catch(() => undefined); // a release that fails leaves the hold to run out
    try {
      const acked = await this.claims.ack(succeeded, options.signal);
      const ackedIds = new Set(acked.acked);
      for (const hold of succeeded) outcomes[owners.get(hold.id)!.index] = { ok: true, handled: ackedIds.has(hold.id) };
      // Held by another receiver now (this hold ran out): a failure, so the record's message stays.
      for (const { id, until } of acked.heldElsewhere)
        outcomes[owners.get(id)!.index] = { ok: false, error: new ChannelValueHeldError(this.name, id, until) };
    } catch (error) {
      for (const hold of succeeded) outcomes[owners.get(hold.id)!.index] = { ok: false, error };
    }
    await releasing;
    return outcomes;
  }

  /**
   * For a worker fed by SQS whose record failed (`acceptRecord` threw): makes the record's message
   * visible again after the channel's retry delay (retry.ts) — once the other receiver's hold ends
   * for ChannelValueHeldError, else 1 s after the first delivery, doubling with each, at most
   * 60 s — instead of after the whole visibility timeout. Report the record as a batch item
   * failure as well. Best effort: a failed call leaves it to the visibility timeout.
   * Cost: 1 ChangeMessageVisibility (none for a record without a receipt handle).
   * @returns the delay, in seconds
   */
  async retryRecord(record: QueueRecord, error: unknown): Promise<number> {
    const delaySeconds = recordRetryDelaySeconds(deliveriesOf(record.attributes), error, Date.now());
    if (record.receiptHandle) await this.queue.retryLater(record.receiptHandle, delaySeconds);
    return delaySeconds;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this.range();
  }

  /**
   * @internal For `select`: one receive attempt on this channel alone, waiting at most
   * `waitTimeSeconds`; `'empty'` if nothing came (another receiver may hold what is queued).
   */
  async receiveOnce(waitTimeSeconds: number, signal?: AbortSignal): Promise<Received<T> | 'empty'> {
    const polled = await this.receiver.fetch(1, signal, waitTimeSeconds);
    if (polled === undefined) return { ok: false, value: undefined, envelope: undefined };
    if (!polled.length) return 'empty';
    const [envelope] = await this.receiver.claimDeliveries(polled);
    return envelope ? { ok: true, value: envelope.body, envelope } : 'empty';
  }
}
