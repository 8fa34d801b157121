/**
 * A channel's ledger in the mesh table: the meta item's counts, the senders' intents and a marker
 * per message id. Everything that makes `close` and drain exact lives in the ledger; the SQS side
 * (queue.ts) moves the messages, and the facade (Channel.ts) and the receive pipeline decide when
 * to call it. It is three files, one per party:
 *
 *   ledger.ts   this file: what both sides share (the items' layout below, markers as read back,
 *               the meta item's update), the reads (lookUp) and the channel's own calls (close,
 *               status)
 *   intents.ts  senders: count in with an intent, settle it; abandon the intents of dead senders
 *   claims.ts   receivers: claim, hold, ack, release (a marker per message id)
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
 * `claimId` / `heldBy` is a second guard for backends that ignore tokens. The writes of the meta
 * item take turns within one Channel object (`writeMeta`, `close`): a transaction holds the item
 * for its commit, so two of one object's at once (a `sendMany`'s lanes, a `range`'s acks, a
 * `close`) would only conflict with each other and back off.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ChannelClosedError, ItemFormatError } from '../errors.ts';
import { retryConflicts, transactWrite } from '../internal/conflicts.ts';
import { abortable, type BackoffOptions, callOptions, pollDelayMs, sleep, throwIfAborted, untilAborted } from '../internal/time.ts';
import { channelMessageIdOf, checkVersion, FORMAT_VERSION, type Item, keys, n, readNumber, readString } from '../table/layout.ts';

/** Markers and intents outlive SQS's longest retention (14 days), so a late copy is still recognised. */
export const MARKER_TTL_MS = 15 * 24 * 3600 * 1000;
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
  /** Counted out unsent: their sender could not tell whether they went (see intents.ts). */
  abandoned: string[];
}

/** What became of the holds an ack counted out. */
export interface AckOutcome {
  /** Counted out now. */
  acked: string[];
  /** No longer ours: counted out by another receiver meanwhile (or abandoned by the sender). */
  doneElsewhere: string[];
  /** No longer ours: another receiver holds the value (until then), or its marker is gone. */
  heldElsewhere: { id: string; until: number }[];
}

/** An id in hand of `hold`: who holds it (the hold's id), for `ack` and `release`. */
export interface Hold {
  id: string;
  holdId: string;
}

export interface LedgerStatus {
  sent: number;
  received: number;
  abandoned: number;
  queued: number;
  closed: boolean;
}

export type UpdateOf = Omit<NonNullable<TransactWriteItem['Update']>, 'TableName' | 'Key'>;

/** One channel's ledger: its items in the mesh table, read, and the meta item, updated. */
export class ChannelLedger {
  /** The end of this object's last transaction on the meta item (`writeMeta`). */
  private metaTurn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dynamodb: DynamoDBClient,
    readonly tableName: string,
    readonly name: string,
    readonly poll: BackoffOptions,
  ) {}

  /**
   * The markers of these ids and the channel's meta item, in one consistent BatchGetItem. Keys
   * DynamoDB leaves unprocessed are asked again a few times; any still unknown count as unmarked
   * (the hold or claim catches them) and the meta item as unknown.
   */
  async lookUp(ids: string[], signal: AbortSignal | undefined): Promise<{ markers: Map<string, Marker>; meta: Item | undefined }> {
    return this.read(ids, true, signal);
  }

  /** The markers of these ids alone (as `lookUp`, without the meta item). */
  async markers(ids: string[], signal: AbortSignal | undefined): Promise<Map<string, Marker>> {
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
        const messageId = channelMessageIdOf(item.sk?.S);
        if (item.sk?.S === metaKey.sk.S) {
          checkVersion(item);
          meta = item;
        } else if (messageId !== undefined) markers.set(messageId, markerOf(item));
      }
      request = UnprocessedKeys[this.tableName]?.Keys;
    }
    return { markers, meta };
  }

  // --- the channel ---------------------------------------------------------------------------

  /** Sets `closedAt` once (in this object's turn: `writeMeta`). @throws ChannelClosedError if it was closed already */
  async close(signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.inTurn(signal, () =>
        retryConflicts(`channel ${this.name}: close`, signal, () =>
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
    const Item = await this.readMeta(signal);
    return {
      sent: readNumber(Item, 'sent') ?? 0,
      received: readNumber(Item, 'received') ?? 0,
      abandoned: readNumber(Item, 'abandoned') ?? 0,
      queued: readNumber(Item, 'queued') ?? 0,
      closed: Item?.closedAt !== undefined,
    };
  }

  /**
   * The meta item, as it is (a consistent read; a read is served even while a transaction holds
   * the item, and never holds it back from one). Cost: 1 GetItem.
   * @throws ItemFormatError if a newer format wrote it
   */
  async readMeta(signal: AbortSignal | undefined): Promise<Item | undefined> {
    const { Item } = await abortable(signal, () =>
      this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: keys.channel(this.name), ConsistentRead: true }),
        callOptions(signal),
      ),
    );
    checkVersion(Item);
    return Item;
  }

  /**
   * A transaction that writes the meta item (with conflict retries: `transactWrite`), sent once
   * this object's earlier ones have ended. On AWS, as in strict mode, a transaction holds its items
   * until it commits and cancels any other that touches them meanwhile; in turns, this object's
   * own never meet (about 21 conflicts per 1,000 values of a `sendMany` and `range` in one object,
   * before; none after). Another process's still can. A `signal` that aborts while the
   * transaction waits for its turn ends the wait with MeshAbortError, and the transaction is
   * never sent; once sent, it runs as `transactWrite` runs it.
   */
  writeMeta(operation: string, input: TransactWriteItemsCommandInput, signal?: AbortSignal): Promise<unknown> {
    return this.inTurn(signal, () => transactWrite(this.dynamodb, operation, input, signal));
  }

  /** Runs `write` (a write of the meta item) once this object's earlier ones have ended (`writeMeta`). */
  private inTurn<T>(signal: AbortSignal | undefined, write: () => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    const turn = this.metaTurn.then(() => {
      throwIfAborted(signal);
      return write();
    });
    this.metaTurn = turn.catch(() => undefined);
    return signal ? untilAborted(turn, signal) : turn;
  }

  /** An update of the meta item, as one action of a transaction. */
  meta(update: UpdateOf): TransactWriteItem {
    return { Update: { TableName: this.tableName, Key: keys.channel(this.name), ...update } };
  }
}
