/**
 * The channel's pure decisions, with no calls (unit-tested in test/unit/channelBatching.test.ts):
 *
 *   sending    values → SQS batches (by count and bytes) → count-in units (what one intent names);
 *              after a unit's settle, what did not go and why
 *   range      how many ReceiveMessage calls fill the next batch, given how fast the body is and
 *              how many values wait; a poll sorted into fresh values and copies (RecentIds: the
 *              ids a loop took), and the fresh ones by their markers
 */
import type { ChannelSendFailure } from '../errors.ts';
import { CLOCK_SKEW_MS, type Marker, type TakeOutcome } from './ledger.ts';
import type { SendFate } from './types.ts';

/**
 * Cuts messages, in order, into SQS batches of at most `room` messages and at most `maxBytes` of
 * bodies together (a message alone may fill a batch: each is within the limit already).
 */
export function fillBatches<M extends { text: string }>(messages: readonly M[], room: number, maxBytes: number): M[][] {
  const batches: M[][] = [];
  let batch: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.text);
    if (batch.length === room || bytes + size > maxBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/**
 * Groups batches, in order, into the units counted in together (one intent, one settle): on a
 * bounded channel each batch alone (counted in as there is room), on an unbounded one as many
 * batches as hold at most `maxIds` values together.
 */
export function countInUnits<M>(batches: readonly M[][], capacity: number | undefined, maxIds: number): M[][][] {
  const units: M[][][] = [];
  for (const next of batches) {
    const unit = units.at(-1);
    const size = unit?.reduce((sum, unitBatch) => sum + unitBatch.length, 0) ?? 0;
    if (unit && capacity === undefined && size + next.length <= maxIds) unit.push(next);
    else units.push([next]);
  }
  return units;
}

/**
 * A unit's ids by what its settle must do with them: counted out unsent (`notSent`: refused, or
 * never tried) or abandoned unless a receiver has them (`unknown`: SQS may have taken them).
 */
export function sortFates(ids: readonly string[], fates: ReadonlyMap<string, SendFate>): { notSent: string[]; unknown: string[] } {
  return {
    notSent: ids.filter((id) => fates.get(id) === undefined || fates.get(id)!.fate === 'refused'),
    unknown: ids.filter((id) => fates.get(id)?.fate === 'unknown'),
  };
}

/**
 * What a settled unit reports: each value that did not go, with why — abandoned (`OutcomeUnknown`:
 * SQS may have taken it, or the send outlived its lease), never tried (`NotAttempted`), or SQS's
 * refusal. Values sent, and unknown ones a receiver took after all, are not listed.
 */
export function sendFailures(
  messages: readonly { envelope: { id: string }; index: number }[],
  fates: ReadonlyMap<string, SendFate>,
  settled: { abandoned: readonly string[]; resolvedElsewhere: boolean },
): ChannelSendFailure[] {
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
  return failures;
}

/** The values of units a `sendMany` never started (an earlier unit failed): not counted in, not sent. */
export function notAttempted(units: readonly (readonly { envelope: { id: string }; index: number }[][])[]): ChannelSendFailure[] {
  return units.flatMap((unit) =>
    unit.flat().map((message) => ({
      id: message.envelope.id,
      index: message.index,
      code: 'NotAttempted',
      message: 'an earlier part of this sendMany failed',
    })),
  );
}

/** `range` fetches the next batch while the body works when a batch takes the body less than this. */
export const PREFETCH_WITHIN_MS = 1000;
/** At most this many ReceiveMessage calls fill one `range` batch (and its one claim transaction). */
export const MAX_RECEIVES_PER_BATCH = 5;

/**
 * Whether to fetch the next batch while the body works through this one, and with how many
 * ReceiveMessage calls: only when the body does the whole batch within PREFETCH_WITHIN_MS; then
 * as many full batches as wait in the channel, as many as the body does in that time, at most
 * MAX_RECEIVES_PER_BATCH (at least one).
 * @param valueMs the body's time per value so far
 * @param batchLength values in the batch in hand
 * @param batchSize values per ReceiveMessage
 * @param waiting values counted in the channel that no batch of this loop holds
 * @returns the ReceiveMessage calls for the next batch, or undefined: no prefetch (a slow body)
 */
export function prefetchReceives(valueMs: number, batchLength: number, batchSize: number, waiting: number): number | undefined {
  if (!(valueMs * batchLength < PREFETCH_WITHIN_MS)) return undefined;
  const affordable = Math.floor(PREFETCH_WITHIN_MS / Math.max(valueMs * batchSize, 1));
  const fullBatches = Math.floor(waiting / batchSize);
  return Math.max(1, Math.min(MAX_RECEIVES_PER_BATCH, affordable, fullBatches));
}

/** A set of the last `limit` ids added (the oldest are forgotten first). */
export class RecentIds {
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

/**
 * A settled batch's copies: which are deleted, which go back to the queue. Deleting one delivery
 * of a message may delete the message (AWS deletes it with a stale receipt handle too, at times),
 * so a copy is deleted only once its value is `counted` out: acked by this loop, now or before, or
 * counted out by another receiver. A copy of a value still in a body's hands (a later batch of the
 * loop, or another receiver after the loop's hold ran out), going back, or failed goes back too:
 * deleted, it could take the value's message from under its holder, and a body of that holder that
 * then failed would leave the value counted in the channel with no message to bring it back.
 */
export function settleCopies<D extends { envelope: { id: string } }>(
  copies: readonly D[],
  counted: { has(id: string): boolean },
): { back: D[]; done: D[] } {
  const back: D[] = [];
  const done: D[] = [];
  for (const copy of copies) (counted.has(copy.envelope.id) ? done : back).push(copy);
  return { back, done };
}

/**
 * Sorts one poll: the first delivery of each id not `taken` before is a candidate; the rest are
 * copies (of a value in this poll, or of one the loop took before).
 */
export function sortPoll<D extends { envelope: { id: string } }>(
  deliveries: readonly D[],
  taken: { has(id: string): boolean },
): { candidates: Map<string, D>; copies: D[] } {
  const candidates = new Map<string, D>();
  const copies: D[] = [];
  for (const delivery of deliveries) {
    const { id } = delivery.envelope;
    if (taken.has(id) || candidates.has(id)) copies.push(delivery);
    else candidates.set(id, delivery);
  }
  return { candidates, copies };
}

/**
 * Sorts candidate ids by the markers read for them at `now`: counted out before (`done`),
 * abandoned, held by another receiver whose hold has not ended (with clock skew), or free to hold
 * (no marker, or a hold that ended).
 */
export function sortByMarkers(
  ids: Iterable<string>,
  markers: ReadonlyMap<string, Marker>,
  now: number,
): { outcome: TakeOutcome; free: string[] } {
  const outcome: TakeOutcome = { taken: [], done: [], inFlight: [], abandoned: [] };
  const free: string[] = [];
  for (const id of ids) {
    const marker = markers.get(id);
    if (!marker) free.push(id);
    else if (marker.state === 'done') outcome.done.push(id);
    else if (marker.state === 'abandoned') outcome.abandoned.push(id);
    else if ((marker.heldUntil ?? 0) + CLOCK_SKEW_MS >= now) outcome.inFlight.push({ id, until: marker.heldUntil! });
    else free.push(id);
  }
  return { outcome, free };
}
