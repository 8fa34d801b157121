/**
 * A channel's ledger in the mesh table: the meta item's counts, the senders' intents and a marker
 * per message id. Everything that makes `close` and drain exact lives here; Channel.ts moves the
 * messages (SQS) and decides when to call these.
 *
 *   meta      channel#<name> / meta        sent, received, abandoned, queued = sent − received −
 *                                          abandoned, closedAt, capacity, v
 *   intent    channel#<name> / send#<id>   the ids a sender counted in and has not confirmed yet,
 *                                          and `until`, the end of its lease
 *   marker    channel#<name> / msg#<id>    `state`: held (a body has the value until `heldUntil`),
 *                                          done (counted out as received; no `state` on markers
 *                                          of older fnmesh), abandoned (counted out unsent)
 *
 * Every id leaves the count exactly once: by the transaction that makes its marker `done` or
 * `abandoned`, and a marker is only ever made so where there was none, or a hold of one's own.
 * Every write is a TransactWriteItems under one client request token (an SDK retry after a lost
 * answer is applied at most once), with conflict retries (internal/conflicts.ts); the marker's
 * `claimId` / `heldBy` is a second guard for backends that ignore tokens.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { ChannelCapacityError, ChannelClosedError, ItemFormatError } from '../errors.ts';
import { retryConflicts, transactWrite } from '../internal/conflicts.ts';
import { abortable, type BackoffOptions, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import { checkVersion, FORMAT_VERSION, type Item, keys, n, readNumber, readString, s, ttlSeconds } from '../table/layout.ts';

/** Markers and intents outlive SQS's longest retention (14 days), so a late copy is still recognised. */
const MARKER_TTL_MS = 15 * 24 * 3600 * 1000;
/** The meta item's `capacity` of an unbounded channel (fnmesh has no unbuffered channels). */
export const UNBOUNDED = 0;
/** A hold or an intent is taken over only once it ended this long ago on the taker's clock. */
export const CLOCK_SKEW_MS = 1_000;
const LOOKUP_ATTEMPTS = 5;
/** The most ids one transaction settles (DynamoDB allows 100 items per transaction). */
export const MAX_IDS_PER_WRITE = 50;

export type MarkerState = 'held' | 'done' | 'abandoned';

/** A marker as read back (ALL_OLD of a refusal, or a lookup). */
export interface Marker {
  state: MarkerState;
  heldBy?: string;
  heldUntil?: number;
  claimId?: string;
}

export function markerOf(item: Item): Marker {
  const state = readString(item, 'state') ?? 'done';
  if (state !== 'held' && state !== 'done' && state !== 'abandoned') throw new ItemFormatError(`channel marker state ${state} is unknown`);
  const heldBy = readString(item, 'heldBy');
  const heldUntil = readNumber(item, 'heldUntil');
  const claimId = readString(item, 'claimId');
  return {
    state: state as MarkerState,
    ...(heldBy === undefined ? {} : { heldBy }),
    ...(heldUntil === undefined ? {} : { heldUntil }),
    ...(claimId === undefined ? {} : { claimId }),
  };
}

/** What became of the ids a claim or a hold tried to take. */
export interface TakeOutcome {
  /** Taken now (claimed: counted out; held: this caller's body may have them). */
  taken: string[];
  /** Counted out before: copies of values already received. */
  done: string[];
  /** Held by another receiver: `until` is when its hold ends (then the value is free again). */
  inFlight: { id: string; until: number }[];
  /** Counted out unsent: their sender could not tell whether they went (see `abandon`). */
  abandoned: string[];
}

/** An id in hand of `hold`: who holds it (the hold's id), for `ack` and `release`. */
export interface Hold {
  id: string;
  holdId: string;
}

export interface SendIntent {
  intentId: string;
  ids: string[];
}

export interface LedgerStatus {
  sent: number;
  received: number;
  abandoned: number;
  queued: number;
  closed: boolean;
}

type UpdateOf = Omit<NonNullable<TransactWriteItem['Update']>, 'TableName' | 'Key'>;

export class ChannelLedger {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly name: string,
    private readonly capacity: number | undefined,
    private readonly poll: BackoffOptions,
  ) {}

  // --- senders -------------------------------------------------------------------------------

  /**
   * Counts `ids` into the channel with an intent naming them, in one transaction: refused once
   * closed; waits while full. The intent says "these may or may not be in the queue yet" until
   * the sender settles it (`settleSend`), or, should the sender die, until `leaseMs` has passed
   * and a receiver abandons what never arrived (`abandonStaleSends`).
   */
  async countIn(ids: string[], leaseMs: number, signal: AbortSignal | undefined): Promise<SendIntent> {
    const count = ids.length;
    const capacityCheck = this.capacity === undefined ? '' : ' AND (attribute_not_exists(#queued) OR #queued <= :room)';
    // The capacity is stored with the channel by its first send (0: unbounded); a participant
    // that disagrees is refused, so no one can overfill a bounded channel. A newer format of the
    // item is refused too, never written back as ours.
    const ours = '(attribute_not_exists(#capacity) OR #capacity = :capacity) AND (attribute_not_exists(#v) OR #v <= :v)';
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      const intentId = randomUUID();
      const now = Date.now();
      try {
        await transactWrite(
          this.dynamodb,
          `channel ${this.name}: count in`,
          {
            TransactItems: [
              this.meta({
                UpdateExpression: 'ADD #sent :count, #queued :count SET #v = :v, #capacity = :capacity',
                ConditionExpression: `attribute_not_exists(#closedAt) AND ${ours}${capacityCheck}`,
                ExpressionAttributeNames: {
                  '#sent': 'sent',
                  '#queued': 'queued',
                  '#closedAt': 'closedAt',
                  '#v': 'v',
                  '#capacity': 'capacity',
                },
                ExpressionAttributeValues: {
                  ':count': n(count),
                  ':v': n(FORMAT_VERSION),
                  ':capacity': n(this.capacity ?? UNBOUNDED),
                  ...(this.capacity === undefined ? {} : { ':room': n(this.capacity - count) }),
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...keys.channelSendIntent(this.name, intentId),
                    v: n(FORMAT_VERSION),
                    ids: { L: ids.map(s) },
                    until: n(now + leaseMs),
                    expiresAt: ttlSeconds(now + MARKER_TTL_MS),
                  },
                },
              },
            ],
          },
          signal,
        );
        return { intentId, ids };
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

  /**
   * Ends a sender's intent, in one transaction: the values SQS refused (`notSent`) are counted
   * out of `sent`; those whose fate is unknown (an answer lost, a deadline hit) are abandoned —
   * counted out, with a marker that sets aside any copy that arrives later — unless a receiver
   * already took them (then they went after all). Not bound to a signal: it must run.
   * @returns the ids abandoned; and `resolvedElsewhere` if a receiver had abandoned the intent
   *   (its lease ran out first): then `abandoned` lists those of its ids that are abandoned
   */
  async settleSend(intent: SendIntent, notSent: string[], unknown: string[]): Promise<{ abandoned: string[]; resolvedElsewhere: boolean }> {
    let maybe = [...unknown];
    for (;;) {
      const now = Date.now();
      const items: TransactWriteItem[] = [
        {
          Delete: {
            TableName: this.tableName,
            Key: keys.channelSendIntent(this.name, intent.intentId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
      ];
      if (notSent.length || maybe.length) items.push(this.countOutUnsent(notSent.length, maybe.length));
      items.push(...maybe.map((id) => this.abandonedMarker(id, now, 'its sender could not tell whether SQS took it')));
      try {
        await transactWrite(this.dynamodb, `channel ${this.name}: settle send`, { TransactItems: items });
        return { abandoned: maybe, resolvedElsewhere: false };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          // A receiver abandoned this intent after its lease: which of its ids did it abandon?
          const markers = await this.markers(intent.ids, undefined);
          return {
            abandoned: intent.ids.filter((id) => markers.get(id)?.state === 'abandoned'),
            resolvedElsewhere: true,
          };
        }
        const offset = items.length - maybe.length;
        const received = new Set(
          reasons.flatMap((reason, index) => (index >= offset && reason.Code === 'ConditionalCheckFailed' ? [maybe[index - offset]!] : [])),
        );
        if (!received.size) throw err;
        maybe = maybe.filter((id) => !received.has(id)); // a receiver has them: they went
      }
    }
  }

  /**
   * Abandons what senders counted in and never confirmed within their lease (a sender that died
   * between counting in and sending, or before it could settle): their ids not taken by a
   * receiver are counted out, with markers that set aside any copy arriving later.
   * Cost: 1 Query, + 1 TransactWriteItems per stale intent.
   * @returns how many values were abandoned
   */
  async abandonStaleSends(signal: AbortSignal | undefined): Promise<number> {
    const pk = keys.channel(this.name).pk;
    let abandoned = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await abortable(signal, () =>
        this.dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :send)',
            ExpressionAttributeValues: { ':pk': pk, ':send': s('send#') },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          callOptions(signal),
        ),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? []) {
        const until = readNumber(item, 'until') ?? 0;
        if (until + CLOCK_SKEW_MS >= Date.now()) continue; // its sender may still be at it
        const intentKey = { pk: item.pk!, sk: item.sk! };
        const ids = (item.ids?.L ?? []).flatMap((value) => (value.S === undefined ? [] : [value.S]));
        abandoned += await this.abandonIntent(intentKey, ids, until, signal);
      }
    } while (startKey);
    return abandoned;
  }

  private async abandonIntent(
    intentKey: Record<'pk' | 'sk', AttributeValue>,
    ids: string[],
    until: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    let pending = ids;
    for (;;) {
      const now = Date.now();
      const items: TransactWriteItem[] = [
        {
          Delete: {
            TableName: this.tableName,
            Key: intentKey,
            ConditionExpression: 'attribute_exists(pk) AND #until = :until',
            ExpressionAttributeNames: { '#until': 'until' },
            ExpressionAttributeValues: { ':until': n(until) },
          },
        },
      ];
      if (pending.length) items.push(this.countOutUnsent(0, pending.length));
      items.push(...pending.map((id) => this.abandonedMarker(id, now, 'its sender did not confirm the send within its lease')));
      try {
        await transactWrite(this.dynamodb, `channel ${this.name}: abandon stale send`, { TransactItems: items }, signal);
        return pending.length;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return 0; // settled meanwhile
        const offset = items.length - pending.length;
        const received = new Set(
          reasons.flatMap((reason, index) =>
            index >= offset && reason.Code === 'ConditionalCheckFailed' ? [pending[index - offset]!] : [],
          ),
        );
        if (!received.size) throw err;
        pending = pending.filter((id) => !received.has(id));
      }
    }
  }

  private countOutUnsent(notSent: number, abandoned: number): TransactWriteItem {
    return this.meta({
      UpdateExpression: 'ADD #sent :notSent, #queued :out, #abandoned :abandoned',
      ExpressionAttributeNames: { '#sent': 'sent', '#queued': 'queued', '#abandoned': 'abandoned' },
      ExpressionAttributeValues: { ':notSent': n(-notSent), ':out': n(-(notSent + abandoned)), ':abandoned': n(abandoned) },
    });
  }

  private abandonedMarker(id: string, now: number, reason: string): TransactWriteItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.channelMessage(this.name, id),
          v: n(FORMAT_VERSION),
          state: s('abandoned'),
          abandonedAt: n(now),
          reason: s(reason),
          expiresAt: ttlSeconds(now + MARKER_TTL_MS),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  // --- receivers -----------------------------------------------------------------------------

  /**
   * Counts ids out as received (receive, select): one transaction of a `done` marker per id
   * (where there is none, or only an expired hold) and the counters. Cost: 1 TransactWriteItems
   * (+ 1 per round of refusals: ids taken elsewhere are dropped and the rest tried again).
   */
  async claim(ids: string[], signal?: AbortSignal): Promise<TakeOutcome> {
    return this.take(ids, 'done', 0, signal);
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
          TableName: this.tableName,
          Item: {
            ...keys.channelMessage(this.name, id),
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
        await transactWrite(this.dynamodb, `channel ${this.name}: ${as === 'done' ? 'claim' : 'hold'}`, { TransactItems: items }, signal);
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
   * out and another receiver took the value) is left to its new holder.
   * @returns the ids counted out now
   */
  async ack(holds: Hold[], signal?: AbortSignal): Promise<string[]> {
    let pending = [...new Map(holds.map((hold) => [hold.id, hold])).values()];
    while (pending.length) {
      const claimId = randomUUID();
      const now = Date.now();
      const markers: TransactWriteItem[] = pending.map((hold) => ({
        Update: {
          TableName: this.tableName,
          Key: keys.channelMessage(this.name, hold.id),
          UpdateExpression: 'SET #state = :done, #receivedAt = :now, #claimId = :claimId REMOVE #heldBy, #heldUntil',
          ConditionExpression: '#heldBy = :holdId',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#receivedAt': 'receivedAt',
            '#claimId': 'claimId',
            '#heldBy': 'heldBy',
            '#heldUntil': 'heldUntil',
          },
          ExpressionAttributeValues: { ':done': s('done'), ':now': n(now), ':claimId': s(claimId), ':holdId': s(hold.holdId) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      }));
      try {
        await transactWrite(
          this.dynamodb,
          `channel ${this.name}: ack`,
          { TransactItems: [...markers, this.countOutReceived(pending.length)] },
          signal,
        );
        return pending.map((hold) => hold.id);
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const lost = new Set<number>();
        let ours = false;
        (err.CancellationReasons ?? []).forEach((reason, index) => {
          if (reason.Code !== 'ConditionalCheckFailed' || index >= pending.length) return;
          if (reason.Item && markerOf(reason.Item).claimId === claimId) ours = true;
          lost.add(index);
        });
        if (ours) return pending.map((hold) => hold.id);
        if (!lost.size) throw err;
        pending = pending.filter((_, index) => !lost.has(index));
      }
    }
    return [];
  }

  /**
   * Gives holds up (a body failed, or a loop was left before it): each hold of ours is ended at
   * once, so the value, back in the queue, can be taken again. The marker stays (`held`, ended):
   * it still says a receiver had the value, so a sender settling an unknown send knows it went.
   * Holds no longer ours are left alone; a release that fails leaves the hold to run out.
   */
  async release(holds: Hold[]): Promise<void> {
    await Promise.all(
      holds.map(async (hold) => {
        try {
          await retryConflicts(`channel ${this.name}: release`, undefined, () =>
            this.dynamodb.send(
              new UpdateItemCommand({
                TableName: this.tableName,
                Key: keys.channelMessage(this.name, hold.id),
                UpdateExpression: 'SET #heldUntil = :ended',
                ConditionExpression: '#heldBy = :holdId',
                ExpressionAttributeNames: { '#heldBy': 'heldBy', '#heldUntil': 'heldUntil' },
                ExpressionAttributeValues: { ':holdId': s(hold.holdId), ':ended': n(0) },
              }),
            ),
          );
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        }
      }),
    );
  }

  private countOutReceived(count: number): TransactWriteItem {
    return this.meta({
      UpdateExpression: 'ADD #received :count, #queued :minus',
      ExpressionAttributeNames: { '#received': 'received', '#queued': 'queued' },
      ExpressionAttributeValues: { ':count': n(count), ':minus': n(-count) },
    });
  }

  /**
   * The markers of these ids and the channel's meta item, in one consistent BatchGetItem. Keys
   * DynamoDB leaves unprocessed are asked again a few times; any still unknown count as unmarked
   * (the hold or claim catches them) and the meta item as unknown.
   */
  async lookUp(ids: string[], signal: AbortSignal | undefined): Promise<{ markers: Map<string, Marker>; meta: Item | undefined }> {
    return this.read(ids, true, signal);
  }

  private async markers(ids: string[], signal: AbortSignal | undefined): Promise<Map<string, Marker>> {
    return (await this.read(ids, false, signal)).markers;
  }

  private async read(
    ids: string[],
    withMeta: boolean,
    signal: AbortSignal | undefined,
  ): Promise<{ markers: Map<string, Marker>; meta: Item | undefined }> {
    const markers = new Map<string, Marker>();
    const metaKey = keys.channel(this.name);
    let meta: Item | undefined;
    let request: Record<string, AttributeValue>[] | undefined = [
      ...(withMeta ? [metaKey] : []),
      ...ids.map((id) => keys.channelMessage(this.name, id)),
    ];
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
        } else if (item.sk?.S?.startsWith('msg#')) markers.set(item.sk.S.slice('msg#'.length), markerOf(item));
      }
      request = UnprocessedKeys[this.tableName]?.Keys;
    }
    return { markers, meta };
  }

  // --- the channel ---------------------------------------------------------------------------

  /** Sets `closedAt` once. @throws ChannelClosedError if it was closed already */
  async close(signal: AbortSignal | undefined): Promise<void> {
    try {
      await retryConflicts(`channel ${this.name}: close`, signal, () =>
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
          callOptions(signal),
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

  /** The counts, exact (a consistent read of the meta item). Cost: 1 GetItem. */
  async status(signal: AbortSignal | undefined): Promise<LedgerStatus> {
    const { Item } = await abortable(signal, () =>
      this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.channel(this.name), ConsistentRead: true }),
        callOptions(signal),
      ),
    );
    checkVersion(Item);
    return {
      sent: readNumber(Item, 'sent') ?? 0,
      received: readNumber(Item, 'received') ?? 0,
      abandoned: readNumber(Item, 'abandoned') ?? 0,
      queued: readNumber(Item, 'queued') ?? 0,
      closed: Item?.closedAt !== undefined,
    };
  }

  private meta(update: UpdateOf): TransactWriteItem {
    return { Update: { TableName: this.tableName, Key: keys.channel(this.name), ...update } };
  }
}
