/**
 * The receivers' side of a channel's ledger (see ledger.ts for the items): a marker per message id
 * says whether the value was received (`done`), is in a body's hands (`held`) or was abandoned by
 * its sender; each transaction that makes markers `done` counts the values out of the channel.
 *
 *   claim     TransactWriteItems: Put msg#<id> done per id (where none, or an expired hold)
 *             + meta ADD received k, queued −k                       (receive, select)
 *   hold      TransactWriteItems: Put msg#<id> held until now + the hold (same condition); of
 *             one id, that PutItem alone (no transaction's commit on a receive's path)
 *   ack       TransactWriteItems: Put msg#<id> done over each hold of ours (if still ours)
 *             + meta ADD received k, queued −k
 *   release   UpdateItem per hold: SET heldUntil = 0 (the value is free again)
 */
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { retryConflicts, writeItems } from '../internal/conflicts.ts';
import { FORMAT_VERSION, type Item, keys, n, s, ttlSeconds } from '../table/layout.ts';
import {
  type AckOutcome,
  type ChannelLedger,
  CLOCK_SKEW_MS,
  type Hold,
  MARKER_TTL_MS,
  type Marker,
  markerOf,
  type TakeOutcome,
} from './ledger.ts';
import type { RoomSignal } from './room.ts';

export class Claims {
  constructor(
    private readonly ledger: ChannelLedger,
    /** Told each time values are counted out (a bounded channel's room signal, room.ts). */
    private readonly room?: RoomSignal,
  ) {}

  /**
   * Counts ids out as received (receive, select): one transaction of a `done` marker per id
   * (where there is none, or only an expired hold) and the counters. Cost: 1 TransactWriteItems
   * (+ 1 per round of refusals: ids taken elsewhere are dropped and the rest tried again).
   */
  async claim(ids: string[], signal?: AbortSignal): Promise<TakeOutcome> {
    const outcome = await this.take(ids, 'done', 0, signal);
    if (outcome.taken.length) await this.room?.signal(outcome.taken.length);
    return outcome;
  }

  /**
   * Takes ids for a loop body (range, consume, acceptRecord) without counting them out yet: a
   * `held` marker per id until `holdMs` from now, so no other receiver hands the value to a body
   * meanwhile. `ack` then counts them out; `release` gives them up.
   */
  async hold(ids: string[], holdMs: number, signal?: AbortSignal): Promise<TakeOutcome & { holds: Hold[] }> {
    const holds: Hold[] = [];
    const outcome = await this.take(ids, 'held', holdMs, signal, holds);
    return { ...outcome, holds };
  }

  private async take(
    ids: string[],
    as: 'done' | 'held',
    holdMs: number,
    signal: AbortSignal | undefined,
    holds: Hold[] = [],
  ): Promise<TakeOutcome> {
    const outcome: TakeOutcome = { taken: [], done: [], inFlight: [], abandoned: [] };
    let pending = [...new Set(ids)];
    while (pending.length) {
      const takeId = randomUUID();
      const now = Date.now();
      const markers: TransactWriteItem[] = pending.map((id) => ({
        Put: {
          TableName: this.ledger.tableName,
          Item: {
            ...keys.channelMessage(this.ledger.name, id),
            v: n(FORMAT_VERSION),
            state: s(as),
            ...(as === 'done' ? { receivedAt: n(now), claimId: s(takeId) } : { heldBy: s(takeId), heldUntil: n(now + holdMs) }),
            expiresAt: ttlSeconds(now + MARKER_TTL_MS),
          } satisfies Item,
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :held AND #heldUntil < :expired)',
          ExpressionAttributeNames: { '#state': 'state', '#heldUntil': 'heldUntil' },
          ExpressionAttributeValues: { ':held': s('held'), ':expired': n(now - CLOCK_SKEW_MS) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      }));
      const items = as === 'done' ? [...markers, this.countOutReceived(pending.length)] : markers;
      try {
        const operation = `channel ${this.ledger.name}: ${as === 'done' ? 'claim' : 'hold'}`;
        // A claim counts out (it writes the meta item: its turn); a hold writes markers alone.
        if (as === 'done') await this.ledger.writeMeta(operation, { TransactItems: items }, signal);
        else await writeItems(this.ledger.dynamodb, operation, items, signal); // a hold of one value: a PutItem
        outcome.taken.push(...pending);
        if (as === 'held') holds.push(...pending.map((id) => ({ id, holdId: takeId })));
        return outcome;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const refused = new Map<number, Marker>();
        (err.CancellationReasons ?? []).forEach((reason, index) => {
          if (reason.Code === 'ConditionalCheckFailed' && index < pending.length && reason.Item) refused.set(index, markerOf(reason.Item));
        });
        if (!refused.size) throw err;
        // Our own marker: an earlier attempt, whose answer was lost, applied the whole transaction.
        if ([...refused.values()].some((marker) => marker.claimId === takeId || marker.heldBy === takeId)) {
          outcome.taken.push(...pending);
          if (as === 'held') holds.push(...pending.map((id) => ({ id, holdId: takeId })));
          return outcome;
        }
        for (const [index, marker] of refused) {
          const id = pending[index]!;
          if (marker.state === 'held') outcome.inFlight.push({ id, until: marker.heldUntil ?? now });
          else if (marker.state === 'abandoned') outcome.abandoned.push(id);
          else outcome.done.push(id);
        }
        pending = pending.filter((_, index) => !refused.has(index));
      }
    }
    return outcome;
  }

  /**
   * Counts held ids out as received once their bodies are done: one transaction turning each
   * hold of ours into a `done` marker, and the counters. A hold that is no longer ours (it ran
   * out and another receiver took the value) is left to its new holder: the caller must leave the
   * value's message alone too, for deleting it would take the value from a holder whose body may
   * yet fail (`heldElsewhere`); one counted out elsewhere meanwhile is `doneElsewhere`.
   */
  async ack(holds: Hold[], signal?: AbortSignal): Promise<AckOutcome> {
    const outcome: AckOutcome = { acked: [], doneElsewhere: [], heldElsewhere: [] };
    let pending = [...new Map(holds.map((hold) => [hold.id, hold])).values()];
    while (pending.length) {
      const claimId = randomUUID();
      const now = Date.now();
      // The done marker is written whole (a Put under the hold's condition), not updated field
      // by field: the same fields and the same write units on AWS, and no update expression for
      // the server to evaluate per marker (moto's own path took 1.3 ms of CPU for each).
      const markers: TransactWriteItem[] = pending.map((hold) => ({
        Put: {
          TableName: this.ledger.tableName,
          Item: {
            ...keys.channelMessage(this.ledger.name, hold.id),
            v: n(FORMAT_VERSION),
            state: s('done'),
            receivedAt: n(now),
            claimId: s(claimId),
            expiresAt: ttlSeconds(now + MARKER_TTL_MS),
          } satisfies Item,
          ConditionExpression: '#heldBy = :holdId',
          ExpressionAttributeNames: { '#heldBy': 'heldBy' },
          ExpressionAttributeValues: { ':holdId': s(hold.holdId) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      }));
      try {
        await this.ledger.writeMeta(
          `channel ${this.ledger.name}: ack`,
          { TransactItems: [...markers, this.countOutReceived(pending.length)] },
          signal,
        );
        await this.room?.signal(pending.length);
        outcome.acked = pending.map((hold) => hold.id);
        return outcome;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const lost = new Map<number, Marker | undefined>();
        (err.CancellationReasons ?? []).forEach((reason, index) => {
          if (reason.Code === 'ConditionalCheckFailed' && index < pending.length) lost.set(index, reason.Item && markerOf(reason.Item));
        });
        // Our own marker: an earlier attempt, whose answer was lost, applied the whole transaction.
        if ([...lost.values()].some((marker) => marker?.claimId === claimId)) {
          await this.room?.signal(pending.length);
          outcome.acked = pending.map((hold) => hold.id);
          return outcome;
        }
        if (!lost.size) throw err;
        for (const [index, marker] of lost) {
          const { id } = pending[index]!;
          // Counted out by another receiver (or given up by its sender): no holder needs the message.
          if (marker?.state === 'done' || marker?.state === 'abandoned') outcome.doneElsewhere.push(id);
          else outcome.heldElsewhere.push({ id, until: marker?.heldUntil ?? Date.now() });
        }
        pending = pending.filter((_, index) => !lost.has(index));
      }
    }
    return outcome;
  }

  /**
   * Gives holds up (a body failed, or a loop was left before it): each hold of ours is ended at
   * once, so the value, back in the queue, can be taken again. The marker stays (`held`, ended):
   * it still says a receiver had the value, so a sender settling an unknown send knows it went.
   * Holds no longer ours are left alone (and their messages must be too: another receiver has the
   * value); a release that fails leaves the hold to run out.
   * @returns the ids whose hold was still ours, ended now
   */
  async release(holds: Hold[]): Promise<Set<string>> {
    const released = await Promise.all(
      holds.map(async (hold) => {
        try {
          await retryConflicts(`channel ${this.ledger.name}: release`, undefined, () =>
            this.ledger.dynamodb.send(
              new UpdateItemCommand({
                TableName: this.ledger.tableName,
                Key: keys.channelMessage(this.ledger.name, hold.id),
                UpdateExpression: 'SET #heldUntil = :ended',
                ConditionExpression: '#heldBy = :holdId',
                ExpressionAttributeNames: { '#heldBy': 'heldBy', '#heldUntil': 'heldUntil' },
                ExpressionAttributeValues: { ':holdId': s(hold.holdId), ':ended': n(0) },
              }),
            ),
          );
          return [hold.id];
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
          return [];
        }
      }),
    );
    return new Set(released.flat());
  }

  private countOutReceived(count: number): TransactWriteItem {
    return this.ledger.meta({
      UpdateExpression: 'ADD #received :count, #queued :minus',
      ExpressionAttributeNames: { '#received': 'received', '#queued': 'queued' },
      ExpressionAttributeValues: { ':count': n(count), ':minus': n(-count) },
    });
  }
}
