/**
 * The channel's shared types: the public options and results (re-exported by Channel.ts and
 * lib/index.ts), what the SQS side, the receive pipeline and the facade hand each other, and the
 * SQS limits they are all sized by.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { BackoffOptions } from '../internal/time.ts';
import type { Schema } from '../schema.ts';
import type { Envelope, TraceContext } from './envelope.ts';
import type { Hold } from './ledger.ts';

/** SQS's default (and, for most queues, actual) largest message: 256 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;
/** The most messages one SQS batch call (send, receive, delete, change visibility) takes. */
export const SQS_BATCH = 10;
/** SQS's default visibility timeout, and the longest a message can be made invisible (12 h). */
export const DEFAULT_VISIBILITY_SECONDS = 30;
export const MAX_VISIBILITY_SECONDS = 43_200;

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
  /**
   * A bounded channel's room signal: a standard SQS queue of its own (not the channel's queue).
   * A `send` blocked by a full channel long-polls it and wakes when a receiver makes room (each
   * count-out sends one signal; `close` too), instead of polling the meta item with backoff.
   * Give it to every sender and receiver of the channel; a signal lost costs at most a 1 s wait.
   * @default none: a full channel's `send` polls (see `poll`)
   */
  roomQueueUrl?: string;
  /** With a `roomQueueUrl`: the longest a blocked sender waits for a signal before it looks again (1–20). @default 1 */
  roomWaitSeconds?: number;
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

/**
 * A record of the channel's queue as a Lambda event source hands it (an `SQSRecord` is one): what
 * `acceptRecord` and `retryRecord` read of it.
 */
export interface QueueRecord {
  body: string;
  receiptHandle?: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/** What `acceptRecords` made of one record: handled (false: a copy, not handled again), or the error `acceptRecord` would have thrown. */
export type RecordOutcome = { ok: true; handled: boolean } | { ok: false; error: unknown };

/** A value ready to send: its envelope, the envelope's JSON text and the value's index in the call. */
export interface PreparedMessage<T> {
  envelope: Envelope<T>;
  text: string;
  /** The value's index in the call. */
  index: number;
}

/** What became of one value a sender tried to put in the queue. */
export type SendFate = { fate: 'sent' } | { fate: 'unknown' } | { fate: 'refused'; code: string; message: string };

/** A message taken from SQS and decoded, not yet claimed. */
export interface Delivery<T> {
  envelope: Envelope<T>;
  receiptHandle: string;
  /** How many times SQS has handed this message out, this time included. */
  receives: number;
  /** The message as SQS gave it (its body and id, for a dead-letter copy). */
  message?: Message;
  /** For a loop body: the hold that keeps the value from other receivers until it is acked. */
  hold?: Hold;
}

/** What a consumer says of a value it was handed: nothing (done), or the error its handler threw. */
export type Verdict = { error: unknown } | undefined;

/**
 * How to poll (see `Receiver.fetch`): `quick` looks without waiting first, `idle` checks for a
 * drained channel before the long poll, `long` polls at once (values are known to be queued).
 */
export type PollMode = 'quick' | 'idle' | 'long';
