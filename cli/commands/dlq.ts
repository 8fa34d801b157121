/**
 * `fnmesh dlq <channel> list [--max n]` and `fnmesh dlq <channel> redrive`: what is in a
 * channel's dead-letter queue, and moving it back to the channel's queue.
 *
 *   list     ReceiveMessage (short visibility) until `max` messages or empty, then
 *            ChangeMessageVisibilityBatch back to 0: the messages stay in the queue
 *   redrive  ReceiveMessage batch → SendMessageBatch to the source queue → DeleteMessageBatch of
 *            exactly the entries that were sent; until the dead-letter queue is empty
 *
 * The four shard queues share one dead-letter queue (`<prefix>-shards-dlq`): a shard's redrive
 * moves only the messages that came from that shard (by SQS's `DeadLetterQueueSourceArn`, or the
 * `fnmesh-channel` attribute a Channel sets when it sets a message aside), so a key never reaches
 * a second shard; the others are left where they are and counted as `skipped`.
 *
 * `readDeadLetters` and `redrive` do the work and return what happened without printing (`fnmesh
 * ui` serves them); `listDeadLetters` and `redriveDeadLetters` print it, for the CLI.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { decodeEnvelope, type Envelope } from '../../lib/channel/envelope.ts';
import { MeshConfigError } from '../../lib/errors.ts';
import { channelQueueNames, STACK_CHANNELS } from '../../infra/stack.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';

/** A channel's queue and dead-letter queue: names without the `fnmesh-<stage>-` prefix (for `ctx.queueUrl`), and full names. */
export interface ChannelQueues {
  channel: string;
  /** For `ctx.queueUrl`, e.g. `shard-2`. */
  queueKey: string;
  /** For `ctx.queueUrl`, e.g. `shards-dlq`. */
  deadLetterKey: string;
  /** The full queue name, e.g. `fnmesh-local-shard-2`. */
  queue: string;
  /** The full dead-letter queue name, e.g. `fnmesh-local-shards-dlq`. */
  deadLetterQueue: string;
  /** Whether other channels' messages land in the same dead-letter queue (the shards). */
  shared: boolean;
}

/**
 * The queues of one of the stack's channels (infra/stack.ts): `<prefix>-<name>` with
 * `<prefix>-<name>-dlq`, except `shard-N`, whose dead-letter queue is the shared
 * `<prefix>-shards-dlq`. Cost: no calls.
 * @throws MeshConfigError for a channel the stack does not have, listing the ones it has
 */
export function channelQueues(ctx: MeshContext, channel: string): ChannelQueues {
  if (!STACK_CHANNELS.includes(channel)) {
    throw new MeshConfigError(`unknown channel ${JSON.stringify(channel)}: the stack's channels are ${STACK_CHANNELS.join(', ')}`);
  }
  const { queue, deadLetterQueue, sharedDeadLetterQueue } = channelQueueNames(channel);
  return {
    channel,
    queueKey: queue,
    deadLetterKey: deadLetterQueue,
    queue: ctx.queueName(queue),
    deadLetterQueue: ctx.queueName(deadLetterQueue),
    shared: sharedDeadLetterQueue,
  };
}

/** One dead letter, as `listDeadLetters` shows it. */
export interface DeadLetter {
  messageId: string;
  /** SQS's ApproximateReceiveCount: receives on the source queue and in the dead-letter queue, this peek included. */
  receiveCount: number;
  /** Why a Channel set it aside (its `fnmesh-reason` attribute); null if SQS's redrive policy moved it. */
  reason: string | null;
  /** The channel it came from, if known (useful on the shared shards queue); null if unknown. */
  source: string | null;
  /** The decoded envelope, or the raw body text if it is not a valid envelope. */
  body: Envelope<unknown> | string;
}

export interface DeadLettersDocument {
  channel: string;
  /** The dead-letter queue's full name. */
  queue: string;
  messages: DeadLetter[];
}

export interface RedriveDocument {
  channel: string;
  /** Where the messages went, and where they came from (full names). */
  queue: string;
  deadLetterQueue: string;
  /** Sent to the source queue (and deleted from the dead-letter queue). */
  moved: number;
  /** Not sent (SendMessageBatch refused them): still in the dead-letter queue. */
  failed: number;
  /** Another shard's messages on the shared dead-letter queue, or of unknown origin: left there. */
  skipped: number;
  /** Sent, but their deletion from the dead-letter queue failed: they are in both queues (receivers drop the copy by envelope id). */
  duplicated: number;
}

/** How long a peeked or redriven message stays hidden from other receivers at most (if this process dies mid-way). */
const PEEK_VISIBILITY_SECONDS = 30;
const REDRIVE_VISIBILITY_SECONDS = 60;
const SQS_BATCH = 10;
/** A SendMessageBatch's total payload is kept under SQS's classic 256 KiB limit. */
const MAX_BATCH_BYTES = 262_144;
const DELETE_ATTEMPTS = 3;
/** Attributes describing why and where a message was set aside: dropped when it goes back. */
const DEAD_LETTER_ATTRIBUTES = new Set(['fnmesh-reason', 'fnmesh-channel', 'fnmesh-message-id']);

async function receive(ctx: MeshContext, queueUrl: string, count: number, visibilitySeconds: number): Promise<Message[]> {
  const { Messages = [] } = await ctx.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: count,
      VisibilityTimeout: visibilitySeconds,
      // A (short) long poll asks every SQS server, so an empty answer means empty.
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'DeadLetterQueueSourceArn'],
    }),
  );
  return Messages;
}

/** Makes held messages visible again at once. Best effort: what fails becomes visible when its timeout ends. */
async function release(ctx: MeshContext, queueUrl: string, receiptHandles: readonly string[]): Promise<number> {
  let failed = 0;
  for (let start = 0; start < receiptHandles.length; start += SQS_BATCH) {
    const entries = receiptHandles
      .slice(start, start + SQS_BATCH)
      .map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 }));
    try {
      const { Failed = [] } = await ctx.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      failed += Failed.length;
    } catch {
      failed += entries.length;
    }
  }
  return failed;
}

/** The channel a dead letter came from: the `fnmesh-channel` attribute, else the source queue's name. */
function sourceOf(ctx: MeshContext, message: Message): string | null {
  const attribute = message.MessageAttributes?.['fnmesh-channel']?.StringValue;
  if (attribute) return attribute;
  const sourceQueue = message.Attributes?.DeadLetterQueueSourceArn?.split(':').pop();
  if (!sourceQueue) return null;
  return STACK_CHANNELS.find((channel) => ctx.queueName(channel) === sourceQueue) ?? sourceQueue;
}

function bodyOf(text: string): Envelope<unknown> | string {
  try {
    return decodeEnvelope(text);
  } catch {
    return text;
  }
}

function deadLetterOf(ctx: MeshContext, message: Message): DeadLetter {
  return {
    messageId: message.MessageId ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    reason: message.MessageAttributes?.['fnmesh-reason']?.StringValue ?? null,
    source: sourceOf(ctx, message),
    body: bodyOf(message.Body ?? ''),
  };
}

function clip(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

/** What a peek read, and how many of the peeked messages could not be made visible again at once. */
export interface DeadLettersRead {
  document: DeadLettersDocument;
  /** Peeked messages whose visibility could not be reset: they become visible when their timeout ends. */
  notReleased: number;
}

/**
 * Peeks at up to `max` messages (default 10) of a channel's dead-letter queue without removing
 * them: receives them with a short visibility timeout, then makes them visible again at once.
 * A peek counts as a receive (`receiveCount` grows by one), and while it runs (seconds) the
 * messages are hidden from other receivers: read on demand, never on a timer. Prints nothing.
 * Cost: 1 ReceiveMessage per 10 messages (+1 empty), 1 ChangeMessageVisibilityBatch per 10.
 * @throws MeshConfigError for an unknown channel or a `max` that is not a positive integer
 */
export async function readDeadLetters(
  ctx: MeshContext,
  channel: string,
  options: { max?: number | undefined } = {},
): Promise<DeadLettersRead> {
  const { max = 10 } = options;
  if (!(Number.isSafeInteger(max) && max > 0)) throw new MeshConfigError(`max must be a positive integer, got ${max}`);
  const queues = channelQueues(ctx, channel);
  const queueUrl = await ctx.queueUrl(queues.deadLetterKey);
  const seen = new Map<string, Message>();
  const held: string[] = [];
  let notReleased = 0;
  try {
    while (seen.size < max) {
      const messages = await receive(ctx, queueUrl, Math.min(SQS_BATCH, max - seen.size), PEEK_VISIBILITY_SECONDS);
      let fresh = 0;
      for (const message of messages) {
        if (message.ReceiptHandle) held.push(message.ReceiptHandle);
        if (message.MessageId && !seen.has(message.MessageId)) {
          seen.set(message.MessageId, message);
          fresh++;
        }
      }
      if (fresh === 0) break;
    }
  } finally {
    notReleased = await release(ctx, queueUrl, held);
  }
  return {
    document: {
      channel,
      queue: queues.deadLetterQueue,
      messages: [...seen.values()].slice(0, max).map((message) => deadLetterOf(ctx, message)),
    },
    notReleased,
  };
}

/**
 * `fnmesh dlq <channel> list`: {@link readDeadLetters}, printed as a table and a summary (or one
 * JSON document with `--json`).
 * @throws MeshConfigError as readDeadLetters does
 */
export async function listDeadLetters(
  ctx: MeshContext,
  channel: string,
  out: Output,
  options: { max?: number | undefined } = {},
): Promise<DeadLettersDocument> {
  const { max = 10 } = options;
  const { document, notReleased } = await readDeadLetters(ctx, channel, { max });
  if (notReleased) out.say(`${notReleased} message(s) could not be made visible again: they will be in ${PEEK_VISIBILITY_SECONDS} s`);
  if (!out.json && document.messages.length) {
    out.table(
      ['message', 'receives', 'source', 'reason', 'body'],
      document.messages.map((letter) => [
        letter.messageId,
        letter.receiveCount,
        letter.source ?? '?',
        clip(letter.reason ?? '(redrive policy)', 50),
        clip(typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body.body), 60),
      ]),
    );
  }
  out.result(document, () =>
    out.say(
      document.messages.length
        ? `${document.messages.length} message(s) shown from ${document.queue}${document.messages.length === max ? ` (at most ${max}; --max for more)` : ''}`
        : `${document.queue} is empty`,
    ),
  );
  return document;
}

function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? '') +
      (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/** The entry that sends a dead letter back: same body, same attributes but the dead-letter ones. */
function entryOf(message: Message): { entry: SendMessageBatchRequestEntry; bytes: number } {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {})
      .filter(([name]) => !DEAD_LETTER_ATTRIBUTES.has(name))
      .map(([name, value]): [string, MessageAttributeValue] => [
        name,
        {
          DataType: value.DataType,
          ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
          ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
        },
      ]),
  );
  const body = message.Body ?? '';
  return {
    entry: { Id: '0', MessageBody: body, ...(Object.keys(attributes).length ? { MessageAttributes: attributes } : {}) },
    bytes: Buffer.byteLength(body) + attributeBytes(attributes),
  };
}

/** Splits messages into SendMessageBatch-sized groups: at most 10 and MAX_BATCH_BYTES each (a larger message goes alone). */
function sendBatches(messages: readonly Message[]): { message: Message; entry: SendMessageBatchRequestEntry }[][] {
  const batches: { message: Message; entry: SendMessageBatchRequestEntry }[][] = [];
  let batch: { message: Message; entry: SendMessageBatchRequestEntry }[] = [];
  let bytes = 0;
  for (const message of messages) {
    const { entry, bytes: size } = entryOf(message);
    if (batch.length && (batch.length === SQS_BATCH || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    entry.Id = String(batch.length);
    batch.push({ message, entry });
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/** Deletes messages (up to 10), retrying the entries that fail. @returns the messages that could not be deleted */
async function deleteAll(ctx: MeshContext, queueUrl: string, messages: readonly Message[]): Promise<Message[]> {
  let pending = [...messages];
  for (let attempt = 0; pending.length && attempt < DELETE_ATTEMPTS; attempt++) {
    try {
      const { Failed = [] } = await ctx.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
      const failed = new Set(Failed.map((entry) => entry.Id));
      pending = pending.filter((_, index) => failed.has(String(index)));
    } catch (err) {
      if (attempt === DELETE_ATTEMPTS - 1) throw err;
    }
  }
  return pending;
}

/** One message a redrive could not send back, and why (SQS's answer). */
export interface RedriveFailure {
  messageId: string;
  reason: string;
}

/** What a redrive did: the CLI's document, plus the details the CLI summarises. */
export interface RedriveOutcome {
  document: RedriveDocument;
  /** Each message SendMessageBatch refused, with SQS's code and message. */
  failures: RedriveFailure[];
  /** Asked-for message ids (`messageIds`) that were not in the dead-letter queue (gone, or hidden by another receiver). */
  notFound: string[];
  /** Wall time of the whole redrive (ms). */
  durationMs: number;
}

/**
 * Moves a channel's dead letters back to the channel's queue: every message of its dead-letter
 * queue (on the shared shards queue: every message that came from this shard), or with
 * `messageIds` only those, batch by batch until the dead-letter queue is empty (or every asked-for
 * message is back). A message is deleted from the dead-letter queue only after SendMessageBatch
 * accepted it; one it refused stays (counted as `failed`, with SQS's reason). The
 * `fnmesh-reason`, `fnmesh-channel` and `fnmesh-message-id` attributes are dropped; body and other attributes are
 * kept. Messages not asked for are left where they were. Prints nothing. Cost per 10 messages:
 * 1 ReceiveMessage, 1 SendMessageBatch, 1 DeleteMessageBatch (+1 empty ReceiveMessage).
 * @throws MeshConfigError for an unknown channel, or `messageIds` that is empty or has a non-string or empty id
 */
export async function redrive(
  ctx: MeshContext,
  channel: string,
  options: { messageIds?: readonly string[] | undefined } = {},
): Promise<RedriveOutcome> {
  const queues = channelQueues(ctx, channel);
  const { messageIds } = options;
  if (messageIds !== undefined && !(messageIds.length > 0 && messageIds.every((id) => typeof id === 'string' && id.length > 0)))
    throw new MeshConfigError('messageIds must be a non-empty list of message ids (or left out for all)');
  const wanted = messageIds ? new Set(messageIds) : undefined;
  const [deadLetterUrl, queueUrl] = await Promise.all([ctx.queueUrl(queues.deadLetterKey), ctx.queueUrl(queues.queueKey)]);
  /** Message ids sent to the queue: if one shows up again (its deletion failed), it is only deleted. */
  const sent = new Set<string>();
  /** Messages left in the dead-letter queue, hidden until the end so that the loop ends: id → receipt handle. */
  const leftFailed = new Map<string, string>();
  const leftSkipped = new Map<string, string>();
  const leftUnwanted = new Map<string, string>();
  const failures = new Map<string, string>();
  const duplicated = new Set<string>();
  const startedAt = Date.now();
  const allWantedSent = () => wanted !== undefined && [...wanted].every((id) => sent.has(id));
  try {
    while (!allWantedSent()) {
      const messages = await receive(ctx, deadLetterUrl, SQS_BATCH, REDRIVE_VISIBILITY_SECONDS);
      if (!messages.length) break;
      const toSend: Message[] = [];
      const toDelete: Message[] = [];
      for (const message of messages) {
        const id = message.MessageId ?? '';
        if (sent.has(id)) toDelete.push(message);
        else if (wanted && !wanted.has(id)) leftUnwanted.set(id, message.ReceiptHandle!);
        else if (queues.shared && sourceOf(ctx, message) !== channel) leftSkipped.set(id, message.ReceiptHandle!);
        else toSend.push(message);
      }
      for (const batch of sendBatches(toSend)) {
        const { Successful = [], Failed = [] } = await ctx.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map(({ entry }) => entry) }),
        );
        const byId = new Map(batch.map(({ message, entry }) => [entry.Id!, message]));
        for (const entry of Successful) {
          const message = byId.get(entry.Id ?? '');
          if (!message) continue;
          sent.add(message.MessageId ?? '');
          leftFailed.delete(message.MessageId ?? '');
          failures.delete(message.MessageId ?? '');
          toDelete.push(message);
        }
        for (const entry of Failed) {
          const message = byId.get(entry.Id ?? '');
          if (!message) continue;
          leftFailed.set(message.MessageId ?? '', message.ReceiptHandle!);
          failures.set(message.MessageId ?? '', `${entry.Code ?? 'Unknown'}: ${entry.Message ?? ''}`);
        }
      }
      for (let start = 0; start < toDelete.length; start += SQS_BATCH) {
        const notDeleted = await deleteAll(ctx, deadLetterUrl, toDelete.slice(start, start + SQS_BATCH));
        for (const message of toDelete.slice(start, start + SQS_BATCH)) duplicated.delete(message.MessageId ?? '');
        for (const message of notDeleted) duplicated.add(message.MessageId ?? '');
      }
    }
  } finally {
    await release(ctx, deadLetterUrl, [...leftFailed.values(), ...leftSkipped.values(), ...leftUnwanted.values()]);
  }
  const seen = new Set([...sent, ...leftFailed.keys(), ...leftSkipped.keys()]);
  return {
    document: {
      channel,
      queue: queues.queue,
      deadLetterQueue: queues.deadLetterQueue,
      moved: sent.size,
      failed: leftFailed.size,
      skipped: leftSkipped.size,
      duplicated: duplicated.size,
    },
    failures: [...failures].map(([messageId, reason]) => ({ messageId, reason })),
    notFound: wanted ? [...wanted].filter((id) => !seen.has(id)) : [],
    durationMs: Date.now() - startedAt,
  };
}

/**
 * `fnmesh dlq <channel> redrive`: {@link redrive} of every message, printed as a summary (or
 * one JSON document with `--json`).
 * @throws MeshConfigError for an unknown channel
 */
export async function redriveDeadLetters(ctx: MeshContext, channel: string, out: Output): Promise<RedriveDocument> {
  const { document, failures, durationMs } = await redrive(ctx, channel);
  out.result(document, () => {
    const seconds = (durationMs / 1000).toFixed(1);
    out.say(`moved ${document.moved} message(s) from ${document.deadLetterQueue} to ${document.queue} in ${seconds} s`);
    if (document.failed)
      out.say(`${document.failed} could not be sent and stay in ${document.deadLetterQueue} (last: ${failures.at(-1)?.reason ?? ''})`);
    if (document.skipped) out.say(`${document.skipped} from other shards (or of unknown origin) were left in ${document.deadLetterQueue}`);
    if (document.duplicated)
      out.say(`${document.duplicated} were sent but not deleted from ${document.deadLetterQueue}: they are in both queues`);
  });
  return document;
}
