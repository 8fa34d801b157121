/**
 * The SQS side of a channel: its queue's calls, and nothing of the ledger (the facade and the
 * receive pipeline decide what is counted; this file only moves messages).
 *
 *   send       SendMessage / SendMessageBatch of a batch, entries retried, each value's fate told
 *              (sent, refused, or unknown: an attempt may have applied it)
 *   receive    ReceiveMessage (with ApproximateReceiveCount); decode a body into an envelope, or
 *              say why it is malformed (and which counted id it names)
 *   delete     DeleteMessageBatch, 10 to a call
 *   put back   ChangeMessageVisibilityBatch: visible again now or after a delay
 *   set aside  SendMessage to the dead-letter queue with the reason, then delete
 *   hold time  the queue's visibility timeout (given, or GetQueueAttributes once)
 */
import {
  type BatchResultErrorEntry,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { MalformedEnvelopeError } from '../errors.ts';
import { abortable, type BackoffOptions, callOptions, pollDelayMs, sleep } from '../internal/time.ts';
import { check, describeIssues, type Schema } from '../schema.ts';
import { countedIdOf, decodeEnvelope, type Envelope } from './envelope.ts';
import { deliveriesOf } from './retry.ts';
import { DEFAULT_VISIBILITY_SECONDS, type Delivery, type PreparedMessage, SQS_BATCH, type SendFate } from './types.ts';

const SEND_RETRIES = 3;
/** Calls of a delete or put-back batch in all: the first and the retries of the entries SQS failed by its own fault. */
const BATCH_ENTRY_ATTEMPTS = 3;
/** The pause before the n-th retry of failed entries: n times this. */
const ENTRY_RETRY_PAUSE_MS = 50;

/**
 * Runs a batch call (`send`: the call for some of `entries`) and calls again for the entries SQS
 * reports failed by its own fault (not `SenderFault`: a handle that expired will not do better),
 * at most BATCH_ENTRY_ATTEMPTS calls in all. Only the first call's error goes up: a retry that
 * fails leaves its entries as a failed entry would (their messages come back after their hold).
 */
async function withEntryRetries<E extends { Id: string }>(
  entries: E[],
  send: (entries: E[]) => Promise<{ Failed?: BatchResultErrorEntry[] | undefined }>,
): Promise<void> {
  let pending = entries;
  for (let attempt = 0; pending.length && attempt < BATCH_ENTRY_ATTEMPTS; attempt++) {
    if (attempt) await sleep(ENTRY_RETRY_PAUSE_MS * attempt);
    const output = attempt === 0 ? await send(pending) : await send(pending).catch(() => undefined);
    if (!output) return;
    const retry = new Set((output.Failed ?? []).filter((entry) => !entry.SenderFault).map((entry) => entry.Id));
    pending = pending.filter((entry) => retry.has(entry.Id));
  }
}

/** A message body decoded: its envelope, or why it is malformed and the id it was counted in by. */
export type Decoded<T> =
  | { ok: true; envelope: Envelope<T> }
  | {
      ok: false;
      /** What is wrong (from decodeEnvelope: normally a MalformedEnvelopeError). */
      error: unknown;
      /** The id its sender counted it in by, if it names a valid one (see countedIdOf). */
      countedId: string | undefined;
    };

/**
 * Decodes a message body: an envelope whose body passes the schema, or why not. A body that is
 * not a valid envelope, or whose value fails the schema, is malformed; a schema that throws
 * throws.
 */
export async function decodeBody<T>(body: string, schema: Schema<T> | undefined): Promise<Decoded<T>> {
  let envelope: Envelope<unknown>;
  try {
    envelope = decodeEnvelope(body);
  } catch (error) {
    return { ok: false, error, countedId: countedIdOf(body) };
  }
  if (!schema) return { ok: true, envelope: envelope as Envelope<T> };
  const result = await check(schema, envelope.body);
  if (!result.ok) return { ok: false, error: new MalformedEnvelopeError('body', describeIssues(result.issues)), countedId: envelope.id };
  return { ok: true, envelope: { ...envelope, body: result.value } };
}

export interface ChannelQueueOptions<T> {
  sqs: SQSClient;
  queueUrl: string;
  /** The channel's name (a dead-letter copy carries it). */
  name: string;
  groupKey: (value: T) => string;
  poll: BackoffOptions;
  deadLetterQueueUrl: string | undefined;
  /** The queue's visibility timeout, if known: else read once. */
  visibilityTimeoutSeconds: number | undefined;
}

export class ChannelQueue<T> {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string | undefined;
  /** A FIFO queue keeps order per message group (its sends go one at a time). */
  readonly fifo: boolean;
  private readonly sqs: SQSClient;
  private readonly name: string;
  private readonly groupKey: (value: T) => string;
  private readonly poll: BackoffOptions;
  private visibilityTimeoutMs: Promise<number> | undefined;

  constructor(options: ChannelQueueOptions<T>) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.name = options.name;
    this.fifo = options.queueUrl.endsWith('.fifo');
    this.groupKey = options.groupKey;
    this.poll = options.poll;
    this.deadLetterQueueUrl = options.deadLetterQueueUrl;
    if (options.visibilityTimeoutSeconds !== undefined) this.visibilityTimeoutMs = Promise.resolve(options.visibilityTimeoutSeconds * 1000);
  }

  // --- sending -------------------------------------------------------------------------------

  /**
   * Sends one batch (SendMessage for one value, SendMessageBatch for more), retrying entries SQS
   * reports failed, and records each entry's fate: sent (an answer said so); unknown (an attempt
   * whose answer never came, or that the SDK itself retried, may have put it in the queue);
   * refused (SQS said no, and no attempt may have applied it). @returns the error that stopped it
   */
  async sendBatch(batch: PreparedMessage<T>[], fates: Map<string, SendFate>, signal: AbortSignal): Promise<unknown> {
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

  // --- receiving -----------------------------------------------------------------------------

  /** One ReceiveMessage of up to `max` messages, waiting up to `waitTimeSeconds`. */
  async receive(max: number, waitTimeSeconds: number, signal: AbortSignal | undefined): Promise<Message[]> {
    const { Messages = [] } = await abortable(signal, () =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitTimeSeconds,
          // A FIFO message's group: `range` keeps a group's order past a failed value (pipeline.ts).
          MessageSystemAttributeNames: this.fifo ? ['ApproximateReceiveCount', 'MessageGroupId'] : ['ApproximateReceiveCount'],
        }),
        callOptions(signal),
      ),
    );
    return Messages;
  }

  /** A received message decoded: a delivery, or why it is malformed (see decodeBody). */
  async decode(message: Message, schema: Schema<T> | undefined): Promise<{ delivery: Delivery<T> } | Extract<Decoded<T>, { ok: false }>> {
    const decoded = await decodeBody(message.Body ?? '', schema);
    if (!decoded.ok) return decoded;
    return {
      delivery: { envelope: decoded.envelope, receiptHandle: message.ReceiptHandle!, receives: deliveriesOf(message.Attributes), message },
    };
  }

  /**
   * Deletes messages, 10 to a call, the calls side by side; entries SQS failed by its own fault are
   * sent again. One still not deleted comes back after its hold, and is then deleted as the copy
   * of a value counted out.
   */
  async deleteAll(deliveries: Delivery<T>[], signal: AbortSignal | undefined): Promise<void> {
    const chunks: Delivery<T>[][] = [];
    for (let start = 0; start < deliveries.length; start += SQS_BATCH) chunks.push(deliveries.slice(start, start + SQS_BATCH));
    await Promise.all(
      chunks.map((chunk) =>
        withEntryRetries(
          chunk.map((delivery, index) => ({ Id: String(index), ReceiptHandle: delivery.receiptHandle })),
          (entries) =>
            abortable(signal, () =>
              this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }), callOptions(signal)),
            ),
        ),
      ),
    );
  }

  /**
   * Makes messages visible again, at once or after `delaySeconds` (not bound to a signal: it runs
   * when a loop is left).
   */
  async putBack(deliveries: Delivery<T>[], delaySeconds: (delivery: Delivery<T>) => number = () => 0): Promise<void> {
    for (let start = 0; start < deliveries.length; start += SQS_BATCH) {
      const chunk = deliveries.slice(start, start + SQS_BATCH);
      // Entries SQS failed by its own fault are sent again; one still failed comes back after its hold.
      await withEntryRetries(
        chunk.map((delivery, index) => ({
          Id: String(index),
          ReceiptHandle: delivery.receiptHandle,
          VisibilityTimeout: delaySeconds(delivery),
        })),
        (entries) => this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
      );
    }
  }

  /**
   * Makes one message an event source handed out visible again after `delaySeconds`. Best effort:
   * if the call fails, the message comes back after the queue's visibility timeout instead.
   */
  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    await this.sqs
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: delaySeconds }))
      .catch(() => undefined);
  }

  /**
   * A message no receiver can use: to the dead-letter queue with its reason, or left for the
   * queue's redrive. Sending the dead letter and deleting the original are two calls: if the
   * original's hold ends between them, it is received and set aside again, so one message may
   * leave two dead letters; both carry its SQS MessageId (`fnmesh-message-id`) to tell them apart.
   */
  async setAside(message: Message, reason: string): Promise<void> {
    if (!this.deadLetterQueueUrl) return; // stays invisible; the queue's redrive policy moves it after maxReceiveCount
    const body = message.Body ?? '';
    const attributes: Record<string, string> = {
      'fnmesh-reason': reason.slice(0, 1024),
      'fnmesh-channel': this.name,
      ...(message.MessageId ? { 'fnmesh-message-id': message.MessageId } : {}),
    };
    const deadLetter = (kept: Record<string, string>) =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deadLetterQueueUrl,
          MessageBody: body,
          ...(Object.keys(kept).length
            ? {
                MessageAttributes: Object.fromEntries(
                  Object.entries(kept).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
                ),
              }
            : {}),
          ...(this.deadLetterQueueUrl!.endsWith('.fifo')
            ? { MessageGroupId: 'dead-letters', MessageDeduplicationId: message.MessageId ?? String(Date.now()) }
            : {}),
        }),
      );
    try {
      await deadLetter(attributes);
    } catch (err) {
      // SQS counts the attributes in a message's size: a body near the dead-letter queue's limit
      // leaves them little room. Keep what fits (the reason first, cut), down to the body alone.
      const limit = sizeLimitOf(err);
      if (limit === undefined) throw err;
      await deadLetter(fitted(attributes, limit - 1 - Buffer.byteLength(body)));
    }
    await this.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: [{ Id: '0', ReceiptHandle: message.ReceiptHandle! }] }),
    );
  }

  /** How long a hold lasts: the queue's visibility timeout (given, or read once), the time SQS gives a receiver. */
  holdMs(signal: AbortSignal | undefined): Promise<number> {
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

/**
 * Whether SQS answered this error itself, on the only attempt: then the request was refused and
 * nothing of it applied. Anything else — no answer, a timeout, an abort, an error after SDK
 * retries (an earlier attempt may have been applied) — leaves the outcome unknown.
 */
function definitelyRefused(err: unknown): boolean {
  const service = err as { $fault?: string; $metadata?: { attempts?: number; httpStatusCode?: number } };
  return service?.$fault === 'client' && (service.$metadata?.attempts ?? 1) <= 1 && service.$metadata?.httpStatusCode !== undefined;
}

/** The size limit SQS named in refusing a message as too large ("Message must be shorter than N bytes"). */
function sizeLimitOf(err: unknown): number | undefined {
  if ((err as Error | null)?.name !== 'InvalidParameterValue') return undefined;
  const match = /shorter than (\d+) bytes/.exec((err as Error).message);
  return match ? Number(match[1]) : undefined;
}

/**
 * The string attributes that fit in `room` bytes as SQS counts them (each name, its type
 * `String` and its value), in order of importance: the reason (cut to fit), then the others whole.
 */
function fitted(attributes: Record<string, string>, room: number): Record<string, string> {
  const kept: Record<string, string> = {};
  let left = room;
  for (const [name, value] of Object.entries(attributes)) {
    const overhead = Buffer.byteLength(name) + 'String'.length;
    const fits = Math.max(0, left - overhead);
    if (fits === 0) continue;
    const text = Buffer.byteLength(value) <= fits ? value : cutToBytes(value, fits);
    if (!text) continue;
    kept[name] = text;
    left -= overhead + Buffer.byteLength(text);
  }
  return kept;
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes (never half a character). @internal exported for tests */
export function cutToBytes(text: string, bytes: number): string {
  let cut = text.slice(0, bytes);
  // A cut between the two halves of a surrogate pair leaves half a character (which UTF-8
  // would count as 3 bytes of U+FFFD): drop it too.
  while (Buffer.byteLength(cut) > bytes || /[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}
