/**
 * The loop under `range` and `consume`: batches taken from the queue and held for the body
 * (takeBatch), handed out one by one, the next batch fetched while a quick body works
 * (prefetch), and each batch settled once the body is done with it — acked, put back, retried
 * later or dead-lettered — while the loop goes on.
 */
import { MeshConfigError } from '../errors.ts';
import { type Item, readNumber } from '../table/layout.ts';
import { prefetchReceives, RecentIds, settleCopies, sortByMarkers, sortPoll } from './batching.ts';
import type { Hold, TakeOutcome } from './ledger.ts';
import type { ChannelQueue } from './queue.ts';
import type { Receiver } from './receiving.ts';
import { retryDelaySeconds } from './retry.ts';
import { type ConsumeSummary, type Delivery, type PollMode, SQS_BATCH, type Verdict } from './types.ts';

/** How many message ids a `range` loop remembers, to know copies of values it took. */
const TAKEN_IDS_KEPT = 10_000;

/** A `range` poll, sorted (see takeBatch). */
interface Batch<T> {
  /** Values to hand to the loop body: one per message id, none claimed before. */
  fresh: Delivery<T>[];
  /** More copies of values this loop took: deleted once their value is counted out, else put back. */
  copies: Delivery<T>[];
  /** Closed, and nothing in it beyond `fresh`: once this batch is acked, the channel is drained. */
  last: boolean;
  /** Values counted in the channel that neither this batch nor earlier unacked ones of the loop hold. */
  waiting: number;
  /** How to poll for the batch after this one. */
  nextPoll: PollMode;
  /**
   * Epoch ms after which no more of `fresh` is handed to the body: half its holds' time (the
   * queue's visibility timeout) gone. Later ones go back to the queue, with a fresh hold to come.
   */
  handOutBy: number;
}

/** What a `range` loop keeps between batches. */
interface RangeLoop {
  /** Ids of values the loop took: later copies of them are not values. */
  taken: RecentIds;
  /** Ids of values counted out (by this loop's acks, or found counted out by another receiver): their copies may be deleted. */
  counted: RecentIds;
  /** Values the loop took whose acks have not finished. */
  unclaimed: number;
  /** The chain of acks, one after another. */
  acks: Promise<unknown>;
}

/**
 * The pipeline under `range` and `consume`: hands out deliveries one by one; what the consumer
 * passes back to `next()` for one (nothing, or the error its handler threw) decides whether it
 * is acked, delayed or dead-lettered when its batch is settled.
 */
export async function* deliveries<T>(
  receiver: Receiver<T>,
  options: { signal?: AbortSignal; batchSize?: number; deadLetterAfter?: number },
  summary?: ConsumeSummary,
): AsyncGenerator<Delivery<T>, void, Verdict> {
  const { signal } = options;
  const { claims, queue } = receiver;
  const batchSize = options.batchSize ?? SQS_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= SQS_BATCH))
    throw new MeshConfigError(`batchSize must be 1 to ${SQS_BATCH}`);
  // Acks run one after another, each while the loop goes on (an error surfaces at the next
  // batch or at the end of the loop).
  const loop: RangeLoop = {
    taken: new RecentIds(TAKEN_IDS_KEPT),
    counted: new RecentIds(TAKEN_IDS_KEPT),
    unclaimed: 0,
    acks: Promise.resolve(),
  };
  let ackFailure: { error: unknown } | undefined;
  let poll: PollMode = 'idle';
  let receives = 1;
  // How many values one batch takes: fewer after a batch whose holds ran half out before the body
  // got to its end, back up to batchSize as batches are handed out in time.
  let fitting = batchSize;
  let prefetched: Promise<Batch<T> | undefined> | undefined;
  const take = () => {
    const next = takeBatch(receiver, fitting, poll, receives, loop, signal);
    next.catch(() => undefined); // awaited later; this only keeps it from counting as unhandled
    return next;
  };
  try {
    for (;;) {
      const wasPrefetched = prefetched !== undefined;
      const batch = await (prefetched ?? take());
      prefetched = undefined;
      if (batch === undefined) return;
      if (ackFailure) throw ackFailure.error;
      poll = batch.nextPoll;
      let late = false;
      let position = 0;
      const failures: { delivery: Delivery<T>; error: unknown }[] = [];
      const handedOut: Delivery<T>[] = [];
      // FIFO: a group whose value failed hands out no later value of this batch. They go back
      // after the failed one, with its delay: SQS returns a group's visible messages in order, and
      // makes a group visible again as soon as any message of it is (AWS's own tests show this),
      // so a later value put back at once would come out before the failed one.
      const stalledGroups = new Set<string>();
      const heldBack: Delivery<T>[] = [];
      const startedAt = performance.now();
      try {
        for (const delivery of batch.fresh) {
          // A value is handed to the body only while at least half of its hold is left: a slow
          // body must not get, late in a batch, a value whose hold ran out while it waited its
          // turn, which another receiver may have taken and be working on. The first value of a
          // batch just taken always goes (its hold has only begun), so the loop moves on.
          if ((handedOut.length > 0 || wasPrefetched) && Date.now() > batch.handOutBy) {
            late = true;
            break;
          }
          const group = queue.fifo ? groupOf(delivery) : undefined;
          if (group !== undefined && stalledGroups.has(group)) {
            heldBack.push(delivery);
            position++;
            continue;
          }
          const verdict = yield delivery;
          // Counted only once the body is done with it: a loop left at this yield (break, a throw)
          // leaves the value in the rest, to go back, never to be acked.
          position++;
          handedOut.push(delivery);
          if (verdict) {
            failures.push({ delivery, error: verdict.error });
            if (group !== undefined) stalledGroups.add(group);
          }
          // A quick body: the next batch is fetched while it works, and the more values wait in
          // the queue, the more of them one batch takes (up to what the body does in a second).
          if (!prefetched && !batch.last) {
            const valueMs = (performance.now() - startedAt) / handedOut.length;
            const next = prefetchReceives(valueMs, batch.fresh.length, batchSize, batch.waiting);
            if (next !== undefined) {
              receives = next;
              prefetched = take();
            }
          }
        }
      } finally {
        const later = batch.fresh.slice(position);
        const rest = [...heldBack, ...later];
        const failed = new Set(failures.map(({ delivery }) => delivery));
        // Failed values and the rest come back: their next delivery is the value again, not a copy.
        for (const delivery of [...failed, ...rest]) loop.taken.delete(delivery.envelope.id);
        const finished = handedOut.filter((delivery) => !failed.has(delivery));
        const previous = loop.acks;
        const ack = previous
          .then(async () => {
            // Holds given up first, so the values are free to take when they come back. A value
            // whose hold is no longer ours (it ran out, and another receiver took the value) is
            // that receiver's now, its message too: left alone, neither put back nor deleted.
            const released = await claims.release(holdsOf([...rest, ...failed]));
            await queue.putBack(later.filter((delivery) => released.has(delivery.envelope.id)));
            const acked = finished.length ? await claims.ack(holdsOf(finished), signal) : undefined;
            const elsewhere = new Set(acked?.heldElsewhere.map(({ id }) => id));
            for (const id of elsewhere) loop.taken.delete(id); // its next delivery is the value again
            for (const id of [...(acked?.acked ?? []), ...(acked?.doneElsewhere ?? [])]) loop.counted.add(id);
            const copies = settleCopies(batch.copies, loop.counted);
            await queue.putBack(copies.back);
            await queue.deleteAll([...finished.filter((delivery) => !elsewhere.has(delivery.envelope.id)), ...copies.done], signal);
            const ownFailures = failures.filter(({ delivery }) => released.has(delivery.envelope.id));
            const delays = ownFailures.length ? await handleFailures(queue, ownFailures, options.deadLetterAfter, summary) : new Map();
            await queue.putBack(
              heldBack.filter((delivery) => released.has(delivery.envelope.id)),
              (delivery) => delays.get(groupOf(delivery)) ?? 0,
            );
          })
          .then(() => (loop.unclaimed -= batch.fresh.length));
        loop.acks = ack;
        ack.catch((error: unknown) => (ackFailure ??= { error }));
        if (rest.length) await ack;
        // At most one ack behind: when acks are slow (a hot meta item's conflicts), the loop
        // waits rather than take more values whose holds would run out before their acks.
        else await previous.catch(() => undefined);
      }
      // The last batch ends the loop, unless values of it failed or went back (held back behind a
      // failed one, or too late to hand out): they come back to be received.
      if (batch.last && !failures.length && !late) return;
      if (failures.length || late) poll = 'quick';
      receives = 1;
      // Take no more than the body got through in time; after a batch handed out in time, more again.
      if (late) fitting = Math.max(1, handedOut.length);
      else if (batch.fresh.length >= fitting) fitting = Math.min(batchSize, fitting * 2);
    }
  } finally {
    const unused = await prefetched?.catch(() => undefined);
    if (unused) {
      const released = await claims.release(holdsOf(unused.fresh));
      await queue.putBack([...unused.fresh.filter((delivery) => released.has(delivery.envelope.id)), ...unused.copies]);
    }
    await loop.acks;
  }
}

/**
 * For `range`: one poll, sorted. Copies (of a value in this poll or one the loop took before)
 * are held back, to be deleted with their value's ack; values already claimed (received
 * elsewhere, or before) are deleted unseen; the rest is fresh (holdCandidates: the markers and
 * the channel's counts read, the fresh ones held). Duplicates racing through two receivers at the
 * same moment can still both reach a body: range processing is at-least-once.
 */
async function takeBatch<T>(
  receiver: Receiver<T>,
  max: number,
  mode: PollMode,
  receives: number,
  loop: RangeLoop,
  signal: AbortSignal | undefined,
): Promise<Batch<T> | undefined> {
  // Before judging the channel drained, this loop's own acks must be in its counts.
  const polled = await receiver.fetch(max, signal, receiver.waitTimeSeconds, mode, receives, () => loop.acks);
  if (polled === undefined) return undefined;
  const { taken } = loop;
  const { candidates, copies } = sortPoll(polled, taken);
  if (!candidates.size)
    return { fresh: [], copies, last: false, waiting: 0, nextPoll: copies.length ? 'quick' : 'idle', handOutBy: Number.POSITIVE_INFINITY };
  // Values this loop holds and has not claimed yet may still be in the channel's count.
  const held = loop.unclaimed;
  const { outcome, holds, meta, handOutBy } = await holdCandidates(receiver, [...candidates.keys()], signal);
  await receiver.dispose(
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
  if (meta === undefined) return { fresh, copies, last: false, waiting: 0, nextPoll: 'quick', handOutBy };
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
    handOutBy,
  };
}

/**
 * Holds a poll's candidates for this loop's body, so no other receiver hands them to a body of its
 * own meanwhile, and reads the channel's counts (the meta item) for the drain check.
 *
 * Several candidates: one consistent BatchGetItem of their markers and the meta item first, so
 * copies (counted out before, held elsewhere, abandoned) stay out of the hold's transaction, whose
 * refusal would hold every item it names for its commit; then the hold of the rest. One candidate
 * (a quiet or a small bounded channel, where latency is what counts): its hold, a PutItem alone,
 * and the meta item's GetItem side by side; the hold's refusal says what the marker would have (its
 * condition is the read's judgement), and a refused PutItem holds nothing. A hold writes no count,
 * so the counts read beside it are those read before it.
 */
async function holdCandidates<T>(receiver: Receiver<T>, ids: string[], signal: AbortSignal | undefined): Promise<HeldCandidates> {
  const holdMs = await receiver.queue.holdMs(signal);
  // The holds end no earlier than holdMs from now (they are written after this).
  const handOutBy = Date.now() + holdMs / 2;
  if (ids.length === 1) {
    const [hold, read] = await Promise.allSettled([receiver.claims.hold(ids, holdMs, signal), receiver.ledger.readMeta(signal)]);
    if (hold.status === 'rejected') throw hold.reason;
    if (read.status === 'rejected') {
      await receiver.claims.release(hold.value.holds); // the value is free again at once
      throw read.reason;
    }
    const { holds: taken, ...outcome } = hold.value;
    return { outcome, holds: new Map(taken.map((held) => [held.id, held])), meta: read.value, handOutBy };
  }
  const holds = new Map<string, Hold>();
  const { markers, meta } = await receiver.ledger.lookUp(ids, signal);
  const { outcome, free } = sortByMarkers(ids, markers, Date.now());
  if (free.length) tookInto(await receiver.claims.hold(free, holdMs, signal), outcome, holds);
  return { outcome, holds, meta, handOutBy };
}

/** What a poll's candidates came to: the holds taken (by id), the rest's outcome, the meta item as read. */
interface HeldCandidates {
  outcome: TakeOutcome;
  holds: Map<string, Hold>;
  meta: Item | undefined;
  /** When half of the holds' time will be gone (Batch.handOutBy). */
  handOutBy: number;
}

/** Adds a hold's result to `outcome` and `holds`. @returns outcome */
function tookInto(taking: TakeOutcome & { holds: Hold[] }, outcome: TakeOutcome, holds: Map<string, Hold>): TakeOutcome {
  for (const hold of taking.holds) holds.set(hold.id, hold);
  outcome.done.push(...taking.done);
  outcome.inFlight.push(...taking.inFlight);
  outcome.abandoned.push(...taking.abandoned);
  return outcome;
}

/**
 * Values whose handler failed: to the dead-letter queue with the error as reason once they have
 * had `deadLetterAfter` deliveries (not claimed: they stay counted until redriven and handled),
 * else back to the queue after the retry delay (retry.ts: doubling with each delivery, 1 s … 60 s).
 * @returns each FIFO group's delay, seconds (0: its value was dead-lettered), for the values of
 *   the group held back behind it
 */
async function handleFailures<T>(
  queue: ChannelQueue<T>,
  failures: { delivery: Delivery<T>; error: unknown }[],
  deadLetterAfter: number | undefined,
  summary: ConsumeSummary | undefined,
): Promise<Map<string | undefined, number>> {
  const retry: Delivery<T>[] = [];
  const delays = new Map<string | undefined, number>();
  for (const { delivery, error } of failures) {
    if (deadLetterAfter !== undefined && delivery.receives >= deadLetterAfter && delivery.message) {
      const reason = `handler failed on delivery ${delivery.receives}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      await queue.setAside(delivery.message, reason);
      if (summary) summary.deadLettered++;
      delays.set(groupOf(delivery), 0);
    } else {
      retry.push(delivery);
      delays.set(groupOf(delivery), retryDelaySeconds(delivery.receives));
    }
  }
  await queue.putBack(retry, (delivery) => retryDelaySeconds(delivery.receives));
  return delays;
}

/** A FIFO message's group (undefined on a standard queue). */
function groupOf(delivery: Delivery<unknown>): string | undefined {
  return delivery.message?.Attributes?.MessageGroupId;
}

function holdsOf(deliveries: Iterable<Delivery<unknown>>): Hold[] {
  return [...deliveries].flatMap((delivery) => (delivery.hold ? [delivery.hold] : []));
}
