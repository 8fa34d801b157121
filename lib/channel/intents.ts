/**
 * The senders' side of a channel's ledger (see ledger.ts for the items): a send counts its values
 * in with an intent naming their ids, and settles the intent once SQS answered; a receiver
 * waiting on a closed channel abandons the intents of senders that died (their lease ran out).
 *
 *   count in   TransactWriteItems: meta ADD sent k, queued k (if not closed, and there is room)
 *              + Put send#<intent> { ids, until }
 *   settle     TransactWriteItems: Delete send#<intent>; what SQS refused counted out of `sent`,
 *              what may or may not have gone abandoned (a marker per id; counted out). When all
 *              went: the DeleteItem alone
 *   abandon    Query send#…; per stale intent, as settle with every id not taken by a receiver
 */
import {
  type AttributeValue,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { ChannelCapacityError, ChannelClosedError } from '../errors.ts';
import { writeItems } from '../internal/conflicts.ts';
import { abortable, callOptions, pollDelayMs, sleep, throwIfAborted } from '../internal/time.ts';
import {
  CHANNEL_SEND_INTENT_PREFIX,
  checkVersion,
  FORMAT_VERSION,
  type Item,
  keys,
  n,
  readNumber,
  s,
  ttlSeconds,
} from '../table/layout.ts';
import { type ChannelLedger, CLOCK_SKEW_MS, MARKER_TTL_MS, UNBOUNDED } from './ledger.ts';
import type { RoomSignal } from './room.ts';

/** What a sender counted in and has not settled yet: the intent item's id and the ids it names. */
export interface SendIntent {
  intentId: string;
  ids: string[];
}

export class SendIntents {
  /**
   * What this sender makes of `queued` on a bounded channel: the count last read (or returned by
   * a refused count-in), plus what it counted in since. Receivers only lower the count and other
   * senders raise it, so it is a guess, used for one thing: when it says "full", the sender reads
   * the meta item before it tries a count-in, and waits for room while the read says full. A
   * count-in refused for want of room is a transaction that holds the meta item for its commit,
   * and a receiver's count-out (the very write that makes room) conflicts with it; a read holds
   * nothing. The count-in's condition stays the judge, so a wrong guess costs a call, never a
   * value too many.
   */
  private queuedGuess = 0;
  /**
   * The room the signals that ended the last wait announced (0: it ran out): woken, the sender
   * tries the count-in at once, without a read, and passes on what it did not use.
   */
  private signalledRoom = 0;

  constructor(
    private readonly ledger: ChannelLedger,
    /** The channel's capacity (undefined: unbounded), stored with its first count-in. */
    private readonly capacity: number | undefined,
    /** A full channel's wait for room: the room signal (room.ts), else a poll with backoff. */
    private readonly room?: RoomSignal,
  ) {}

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
      if (this.capacity !== undefined && this.queuedGuess + count > this.capacity && !this.signalledRoom) {
        // Probably full: look before trying (below, "queuedGuess").
        const queued = this.judge(await this.ledger.readMeta(signal), attempt > 0);
        if (queued + count > this.capacity) {
          await this.waitForRoom(attempt, signal);
          continue;
        }
      }
      const signalled = this.signalledRoom;
      this.signalledRoom = 0;
      const intentId = randomUUID();
      const now = Date.now();
      const operation = `channel ${this.ledger.name}: count in`;
      const input: TransactWriteItemsCommandInput = {
        // Fixed here, so that the count-in sent again (withdrawCountIn) is the same transaction.
        ClientRequestToken: randomUUID(),
        TransactItems: [
          this.ledger.meta({
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
              TableName: this.ledger.tableName,
              Item: {
                ...keys.channelSendIntent(this.ledger.name, intentId),
                v: n(FORMAT_VERSION),
                ids: { L: ids.map(s) },
                until: n(now + leaseMs),
                expiresAt: ttlSeconds(now + MARKER_TTL_MS),
              },
            },
          },
        ],
      };
      try {
        await this.ledger.writeMeta(operation, input, signal);
        this.queuedGuess += count;
        // Room announced beyond what this send took: the next blocked sender's.
        if (signalled > count) void this.room?.signal(signalled - count);
        return { intentId, ids };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) {
          // An abort, or an answer lost past the retries: the values may be counted in, and on an
          // open channel nothing else would ever count them out (a bounded one would stay full).
          void this.withdrawCountIn(operation, input, { intentId, ids });
          throw err;
        }
        const [refusal] = err.CancellationReasons ?? [];
        if (refusal?.Code !== 'ConditionalCheckFailed') throw err;
        this.judge(refusal.Item, attempt > 0);
        // Full: wait for receivers to make room (Go: a send on a full buffered channel blocks).
        await this.waitForRoom(attempt, signal);
      }
    }
  }

  /**
   * Undoes a count-in whose outcome is unknown, in the background (the caller has its error at
   * once): the same transaction sent again under its token is applied at most once, so its answer
   * says whether the values are counted in; if they are, they are counted out again (none was
   * sent). Best effort: if this fails too, the intent stays until a receiver abandons it on close.
   */
  private async withdrawCountIn(operation: string, input: TransactWriteItemsCommandInput, intent: SendIntent): Promise<void> {
    try {
      try {
        await this.ledger.writeMeta(operation, input);
      } catch (err) {
        if (err instanceof TransactionCanceledException) return; // refused (closed, full): nothing is counted in
        throw err;
      }
      await this.settleSend(intent, intent.ids, []);
    } catch {
      // best effort (above)
    }
  }

  /**
   * What a sender makes of the meta item (read, or returned by a refused count-in): the values
   * queued, which it remembers.
   * @throws ChannelClosedError; ChannelCapacityError if the channel was made with another capacity
   */
  private judge(meta: Item | undefined, waited = false): number {
    checkVersion(meta);
    if (meta?.closedAt) {
      // A sender that waited for room passes the close's signal on: the next blocked one learns too.
      if (waited) void this.room?.signal();
      throw new ChannelClosedError(this.ledger.name);
    }
    const stored = readNumber(meta, 'capacity');
    if (stored !== undefined && stored !== (this.capacity ?? UNBOUNDED))
      throw new ChannelCapacityError(this.ledger.name, this.capacity, stored === UNBOUNDED ? undefined : stored);
    this.queuedGuess = readNumber(meta, 'queued') ?? 0;
    return this.queuedGuess;
  }

  /**
   * Waits on a full channel: woken by the room signal a receiver's count-out sends (then the next
   * count-in is tried at once), or after `roomWaitSeconds` without one, or a poll's backoff
   * without a room queue (then the meta item is read first).
   */
  private async waitForRoom(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.room) this.signalledRoom = await this.room.wait(signal);
    else await sleep(pollDelayMs(attempt, this.ledger.poll), signal);
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
            TableName: this.ledger.tableName,
            Key: keys.channelSendIntent(this.ledger.name, intent.intentId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
      ];
      const countsOut = notSent.length > 0 || maybe.length > 0;
      if (countsOut) items.push(this.countOutUnsent(notSent.length, maybe.length));
      items.push(...maybe.map((id) => this.abandonedMarker(id, now, 'its sender could not tell whether SQS took it')));
      try {
        const operation = `channel ${this.ledger.name}: settle send`;
        // Only a settle that counts values out writes the meta item: then it takes its turn.
        if (countsOut) await this.ledger.writeMeta(operation, { TransactItems: items });
        else await writeItems(this.ledger.dynamodb, operation, items); // all sent: a DeleteItem
        return { abandoned: maybe, resolvedElsewhere: false };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          // A receiver abandoned this intent after its lease: which of its ids did it abandon?
          const markers = await this.ledger.markers(intent.ids, undefined);
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
    const pk = keys.channel(this.ledger.name).pk;
    let abandoned = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await abortable(signal, () =>
        this.ledger.dynamodb.send(
          new QueryCommand({
            TableName: this.ledger.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :send)',
            ExpressionAttributeValues: { ':pk': pk, ':send': s(CHANNEL_SEND_INTENT_PREFIX) },
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
            TableName: this.ledger.tableName,
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
        await this.ledger.writeMeta(`channel ${this.ledger.name}: abandon stale send`, { TransactItems: items }, signal);
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
    return this.ledger.meta({
      UpdateExpression: 'ADD #sent :notSent, #queued :out, #abandoned :abandoned',
      ExpressionAttributeNames: { '#sent': 'sent', '#queued': 'queued', '#abandoned': 'abandoned' },
      ExpressionAttributeValues: { ':notSent': n(-notSent), ':out': n(-(notSent + abandoned)), ':abandoned': n(abandoned) },
    });
  }

  private abandonedMarker(id: string, now: number, reason: string): TransactWriteItem {
    return {
      Put: {
        TableName: this.ledger.tableName,
        Item: {
          ...keys.channelMessage(this.ledger.name, id),
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
}
