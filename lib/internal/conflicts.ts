/**
 * DynamoDB's transaction conflicts, handled in one place for every write the library makes.
 *
 * On AWS an item held by an ongoing TransactWriteItems refuses other writes: a transaction that
 * includes it is cancelled (TransactionCanceledException, reason `TransactionConflict`), a
 * single-item write fails with TransactionConflictException; a transaction over a throttled
 * partition is cancelled with `ThrottlingError`. The SDKs retry none of these (they are 400s).
 * AWS's advice is to retry with jittered exponential backoff; a transaction sent again with the
 * same ClientRequestToken is applied at most once, so a retry after a lost answer is safe too.
 *
 * A cancellation that names a real refusal (`ConditionalCheckFailed`, a validation error) is never
 * retried: it goes back to the caller, who reads it as before.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
  type TransactWriteItemsCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { TransactionConflictError } from '../errors.ts';
import { abortable, backoffMs, callOptions, sleep } from './time.ts';

/**
 * Attempts per write, and the full-jitter backoff between them: up to about 11 s of waiting in
 * all (about half that on average), enough for dozens of writers of one hot item; beyond that the
 * item needs sharding, not patience.
 */
export const CONFLICT_RETRY = { attempts: 15, baseMs: 25, maxMs: 1000 } as const;

/** Cancellation reasons that say "try again later", not "no". */
const TRANSIENT_REASONS = new Set(['None', 'TransactionConflict', 'ThrottlingError']);

/**
 * Whether `err` is a refusal that retrying can cure: a single-item write that met an ongoing
 * transaction, or a transaction cancelled only by conflicts or throttling.
 */
export function isTransientConflict(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TransactionConflictException') return true;
  if (err.name !== 'TransactionCanceledException') return false;
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code !== 'None') && reasons.every((reason) => TRANSIENT_REASONS.has(reason.Code ?? 'None'));
}

/**
 * Runs `write` (one DynamoDB write call, carrying `signal`), retrying it while it meets conflicts
 * or throttling. Shaped like `abortable`, which it wraps: an abort is a MeshAbortError.
 * @param operation names the write in the error, e.g. `channel tasks: count`
 * @throws TransactionConflictError once the attempts are spent (the last refusal as `cause`)
 * @throws whatever else `write` throws, at once
 */
export async function retryConflicts<T>(operation: string, signal: AbortSignal | undefined, write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await abortable(signal, write);
    } catch (err) {
      if (!isTransientConflict(err)) throw err;
      if (attempt >= CONFLICT_RETRY.attempts) throw new TransactionConflictError(operation, attempt, { cause: err });
      await sleep(backoffMs(attempt, CONFLICT_RETRY), signal);
    }
  }
}

/**
 * TransactWriteItems with conflict retries, every attempt under one ClientRequestToken (the
 * caller's, or a fresh one): whatever happens to the answers, it is applied at most once.
 */
export function transactWrite(
  client: DynamoDBClient,
  operation: string,
  input: TransactWriteItemsCommandInput,
  signal?: AbortSignal,
): Promise<TransactWriteItemsCommandOutput> {
  const command = { ...input, ClientRequestToken: input.ClientRequestToken ?? randomUUID() };
  return retryConflicts(operation, signal, () => client.send(new TransactWriteItemsCommand(command), callOptions(signal)));
}

/**
 * The items written together: one TransactWriteItems (`transactWrite`), or, when there is only one
 * Put, Update or Delete, the single-item write it amounts to, which AWS applies alone just as
 * atomically, at half the write capacity and without a transaction's commit. Its refusal is thrown
 * as the transaction's would be (a TransactionCanceledException whose one reason carries the item,
 * if asked for), so callers read both alike.
 *
 * Unlike a transaction's token, a single-item write has no idempotency token: an SDK retry after a
 * lost answer is refused by the write's own condition. Callers of a one-item write must recognise
 * their own write in that refusal (a hold's `heldBy`), or be right either way (a delete that finds
 * nothing to delete).
 */
export async function writeItems(
  client: DynamoDBClient,
  operation: string,
  items: TransactWriteItem[],
  signal?: AbortSignal,
): Promise<void> {
  const [only] = items;
  const write = items.length === 1 && only ? singleWrite(client, only, signal) : undefined;
  if (!write) {
    await transactWrite(client, operation, { TransactItems: items }, signal);
    return;
  }
  try {
    await retryConflicts(operation, signal, write);
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    throw new TransactionCanceledException({
      message: `Transaction cancelled (one item, written alone): ${err.message}`,
      $metadata: err.$metadata,
      CancellationReasons: [{ Code: 'ConditionalCheckFailed', Message: err.message, ...(err.Item ? { Item: err.Item } : {}) }],
    });
  }
}

/** A transaction's one item as the single-item write that writes it (a ConditionCheck has none). */
function singleWrite(
  client: DynamoDBClient,
  item: TransactWriteItem,
  signal: AbortSignal | undefined,
): (() => Promise<unknown>) | undefined {
  const { Put, Update, Delete } = item;
  if (Put) return () => client.send(new PutItemCommand(Put), callOptions(signal));
  if (Update) return () => client.send(new UpdateItemCommand(Update), callOptions(signal));
  if (Delete) return () => client.send(new DeleteItemCommand(Delete), callOptions(signal));
  return undefined;
}
