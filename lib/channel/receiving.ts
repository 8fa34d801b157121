/**
 * The receive side of a channel, between its queue (queue.ts) and its ledger (ledger.ts,
 * claims.ts, intents.ts): one poll (fetch, decode, malformed messages counted out and set aside,
 * the drain check), taking deliveries out of the channel (`receive`, `select`) and disposing of
 * what a receiver did not take. The `range` / `consume` loop built on it is pipeline.ts.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { throwIfAborted } from '../internal/time.ts';
import type { Schema } from '../schema.ts';
import type { Claims } from './claims.ts';
import type { Envelope } from './envelope.ts';
import type { SendIntents } from './intents.ts';
import type { ChannelLedger, TakeOutcome } from './ledger.ts';
import type { ChannelQueue } from './queue.ts';
import { untilHoldEndsSeconds } from './retry.ts';
import type { Delivery, PollMode } from './types.ts';

/** How often one receiver looks for senders' intents whose lease has ended (closed channels only). */
const STALE_SENDS_EVERY_MS = 2000;

/** What a receiver works with: the channel's ledger, its queue, and how it decodes and polls. */
export interface ReceiverParts<T> {
  ledger: ChannelLedger;
  intents: SendIntents;
  claims: Claims;
  queue: ChannelQueue<T>;
  schema: Schema<T> | undefined;
  /** Long-poll per ReceiveMessage, in seconds. */
  waitTimeSeconds: number;
}

export class Receiver<T> {
  readonly ledger: ChannelLedger;
  readonly intents: SendIntents;
  readonly claims: Claims;
  readonly queue: ChannelQueue<T>;
  readonly waitTimeSeconds: number;
  private readonly schema: Schema<T> | undefined;
  private staleSendsCheckedAt = 0;

  constructor(parts: ReceiverParts<T>) {
    this.ledger = parts.ledger;
    this.intents = parts.intents;
    this.claims = parts.claims;
    this.queue = parts.queue;
    this.schema = parts.schema;
    this.waitTimeSeconds = parts.waitTimeSeconds;
  }

  /**
   * One poll: decoded deliveries (possibly none), or undefined once the channel is closed and
   * drained. Malformed messages are set aside (dead-letter queue with the reason, if configured).
   *   quick  a ReceiveMessage without waiting; if empty, the drain check, then the long poll
   *   idle   the drain check, then the long poll (when the last poll found nothing)
   *   long   the long poll alone (when more values are known to be queued), with `receives - 1`
   *          more ReceiveMessage calls beside it that do not wait
   * @param ownAcks the caller's acks in progress: in the counts before the channel is judged drained
   */
  async fetch(
    max: number,
    signal: AbortSignal | undefined,
    waitTimeSeconds = this.waitTimeSeconds,
    mode: PollMode = 'quick',
    receives = 1,
    ownAcks: () => Promise<unknown> = async () => undefined,
  ): Promise<Delivery<T>[] | undefined> {
    throwIfAborted(signal);
    const receive = (wait: number) => this.queue.receive(max, wait, signal);
    let messages: Message[] = [];
    if (mode === 'quick') {
      // A quick look first: a closed, drained channel then ends at once instead of after a long poll.
      messages = await receive(0);
      if (!messages.length) mode = 'idle';
    }
    if (mode === 'idle' && (await this.drained(signal, ownAcks))) return undefined;
    if (mode === 'long' && receives > 1) {
      const polls = await Promise.all([receive(waitTimeSeconds), ...Array.from({ length: receives - 1 }, () => receive(0))]);
      messages = polls.flat();
    } else if (!messages.length && waitTimeSeconds > 0) messages = await receive(waitTimeSeconds);
    const deliveries: Delivery<T>[] = [];
    for (const message of messages) {
      const delivery = await this.decode(message);
      if (delivery) deliveries.push(delivery);
    }
    return deliveries;
  }

  /** Whether the channel is closed and nothing is counted in it. */
  private async drained(signal: AbortSignal | undefined, ownAcks: () => Promise<unknown>): Promise<boolean> {
    await ownAcks().catch(() => undefined); // their failure surfaces in the loop
    let status = await this.ledger.status(signal);
    // Closed and still waiting for values: values of senders that died (or were cut off)
    // before settling their sends are given up once their leases end (looked for at most every
    // 2 s by this object: a lease is seconds long, and each look is a Query).
    if (status.closed && status.queued > 0 && Date.now() - this.staleSendsCheckedAt >= STALE_SENDS_EVERY_MS) {
      this.staleSendsCheckedAt = Date.now();
      if ((await this.intents.abandonStaleSends(signal)) > 0) status = await this.ledger.status(signal);
    }
    return status.closed && status.queued <= 0;
  }

  /**
   * A message decoded into a delivery, or, malformed, set aside. A malformed message that still
   * names a valid id was counted in by its sender: it is counted out (once, like any claim: a copy
   * or a redrive of it finds its marker), or a closed channel would never drain. A message
   * without a valid id was never counted.
   */
  private async decode(message: Message): Promise<Delivery<T> | undefined> {
    const decoded = await this.queue.decode(message, this.schema);
    if ('delivery' in decoded) return decoded.delivery;
    if (decoded.countedId !== undefined) await this.claims.claim([decoded.countedId]);
    await this.queue.setAside(message, (decoded.error as Error).message);
    return undefined;
  }

  /**
   * Moves deliveries out of the channel (receive, select): claims their ids, deletes them and
   * their copies, and disposes of what another receiver holds or a sender abandoned. Takes no
   * signal: once values are in hand the claim completes and they are returned (a claim cut short
   * by an abort could count a value out and hand it to no one); a caller's signal stops its wait.
   * @returns the envelopes claimed now, one per id
   */
  async claimDeliveries(deliveries: Delivery<T>[]): Promise<Envelope<T>[]> {
    const outcome = await this.claims.claim(deliveries.map((delivery) => delivery.envelope.id));
    const taken = new Set(outcome.taken);
    await this.dispose(deliveries, { ...outcome, taken: [], done: [...outcome.done, ...outcome.taken] }, undefined);
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
  async dispose(deliveries: Delivery<T>[], outcome: TakeOutcome, signal: AbortSignal | undefined): Promise<void> {
    const done = new Set(outcome.done);
    const abandoned = new Set(outcome.abandoned);
    const inFlight = new Map(outcome.inFlight.map(({ id, until }) => [id, until]));
    await this.queue.deleteAll(
      deliveries.filter((delivery) => done.has(delivery.envelope.id)),
      signal,
    );
    const now = Date.now();
    await this.queue.putBack(
      deliveries.filter((delivery) => inFlight.has(delivery.envelope.id)),
      (delivery) => untilHoldEndsSeconds(inFlight.get(delivery.envelope.id)!, now),
    );
    for (const delivery of deliveries)
      if (abandoned.has(delivery.envelope.id) && delivery.message)
        await this.queue.setAside(
          delivery.message,
          `abandoned by its sender (${delivery.envelope.id}): it arrived after its send was given up`,
        );
  }
}
