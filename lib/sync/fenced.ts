/**
 * Fenced writes: Kleppmann's fencing tokens, enforced by the protected item itself.
 *
 * A lease alone cannot stop a holder that paused (GC, a frozen Lambda) past its lease from
 * writing after someone else took over. So every write made under a lock carries the lock's
 * fence, and the protected item remembers the largest fence that wrote it: a write with a smaller
 * fence is refused, in the same conditional write, by DynamoDB.
 *
 *   condition   attribute_not_exists(lastFence) OR lastFence <= :fence   (AND your condition)
 *   update      SET lastFence = :fence, ...your update
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  type PutItemCommandOutput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { FencedWriteOutcomeUnknownError, MeshConfigError, StaleFenceError } from '../errors.ts';
import { callOptions } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { n, readNumber } from '../table/layout.ts';

export interface FenceOptions {
  /** The attribute of the protected item that stores the largest fence seen. @default 'lastFence' */
  attribute?: string;
  signal?: AbortSignal;
}

const NAME = '#fnmeshFence';
const VALUE = ':fnmeshFence';

function checkFence(fence: number): void {
  if (!Number.isSafeInteger(fence) || fence < 1) throw new MeshConfigError(`a fence is a positive integer, got ${fence}`);
}

function fenceCondition(existing: string | undefined): string {
  const fenceOk = `(attribute_not_exists(${NAME}) OR ${NAME} <= ${VALUE})`;
  return existing ? `${fenceOk} AND (${existing})` : fenceOk;
}

/** Adds `SET lastFence = :fence` to an update expression, into its SET clause if it has one. */
export function addFenceToUpdateExpression(expression: string | undefined): string {
  const assignment = `${NAME} = ${VALUE}`;
  if (!expression?.trim()) return `SET ${assignment}`;
  // The keyword, not a placeholder that spells it (`#set`, `:set`).
  const set = /(?<![#:\w])SET(?!\w)/i.exec(expression);
  if (!set) return `SET ${assignment} ${expression}`;
  const at = set.index + set[0].length;
  return `${expression.slice(0, at)} ${assignment},${expression.slice(at)}`;
}

/** The UpdateItem input with the fence condition and assignment merged in (pure; for tests). */
export function withFence(input: UpdateItemCommandInput, fence: number, attribute = 'lastFence'): UpdateItemCommandInput {
  checkFence(fence);
  return {
    ...input,
    UpdateExpression: addFenceToUpdateExpression(input.UpdateExpression),
    ConditionExpression: fenceCondition(input.ConditionExpression),
    ExpressionAttributeNames: { ...input.ExpressionAttributeNames, [NAME]: attribute },
    ExpressionAttributeValues: { ...input.ExpressionAttributeValues, [VALUE]: n(fence) },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/** The PutItem input with the fence condition merged in and the fence stored on the item. */
export function withFencePut(input: PutItemCommandInput, fence: number, attribute = 'lastFence'): PutItemCommandInput {
  checkFence(fence);
  return {
    ...input,
    Item: { ...input.Item, [attribute]: n(fence) },
    ConditionExpression: fenceCondition(input.ConditionExpression),
    ExpressionAttributeNames: { ...input.ExpressionAttributeNames, [NAME]: attribute },
    ExpressionAttributeValues: { ...input.ExpressionAttributeValues, [VALUE]: n(fence) },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * A refusal for a newer fence is StaleFenceError ("not applied") only if it came on the SDK's first
 * attempt: after a retry, an earlier attempt whose answer was lost may have been applied before the
 * newer fence wrote, so the outcome is unknown.
 */
function translate(err: unknown, fence: number, attribute: string): never {
  if (err instanceof ConditionalCheckFailedException) {
    const latest = readNumber(err.Item, attribute);
    if (latest !== undefined && latest > fence) {
      const attempts = err.$metadata?.attempts ?? 1;
      if (attempts > 1) throw new FencedWriteOutcomeUnknownError(fence, latest, attempts, { cause: err });
      throw new StaleFenceError(fence, latest);
    }
  }
  throw err;
}

/**
 * An UpdateItem that only applies if no write with a larger fence reached the item first.
 * Cost: the same single UpdateItem. @throws StaleFenceError
 */
export async function fencedUpdate(
  client: DynamoDBClient,
  input: UpdateItemCommandInput,
  fence: number,
  options: FenceOptions = {},
): Promise<UpdateItemCommandOutput> {
  const attribute = options.attribute ?? 'lastFence';
  try {
    return await retryConflicts(`fenced update of ${input.TableName}`, options.signal, () =>
      client.send(new UpdateItemCommand(withFence(input, fence, attribute)), callOptions(options.signal)),
    );
  } catch (err) {
    return translate(err, fence, attribute);
  }
}

/** A PutItem that only applies if no write with a larger fence reached the item first. @throws StaleFenceError */
export async function fencedPut(
  client: DynamoDBClient,
  input: PutItemCommandInput,
  fence: number,
  options: FenceOptions = {},
): Promise<PutItemCommandOutput> {
  const attribute = options.attribute ?? 'lastFence';
  try {
    return await retryConflicts(`fenced put to ${input.TableName}`, options.signal, () =>
      client.send(new PutItemCommand(withFencePut(input, fence, attribute)), callOptions(options.signal)),
    );
  } catch (err) {
    return translate(err, fence, attribute);
  }
}
