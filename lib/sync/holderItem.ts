/**
 * The one item a Mutex, RWMutex, Semaphore or Once key lives on, and the conditional writes made
 * to it: each primitive names its attributes once (a `#placeholder` dictionary) and states every
 * write as an `Update`; this module turns it into the UpdateItem.
 *
 * Every write is one UpdateItem that returns the item as it was when its condition failed
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so a refused acquirer learns the state it
 * must decide on from the refusal itself, without a second read.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { abortable, callOptions } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { checkVersion, type Item, type Key, n } from '../table/layout.ts';
import { LocalWakeups } from './localWakeups.ts';

/** An update: expressions with `#name` and `:value` placeholders. */
export interface Update {
  /** Names the write in a TransactionConflictError, e.g. `mutex orders: lock`. @default `<pk>: update` */
  operation?: string;
  update: string;
  condition?: string;
  /** Placeholders for names not in the item's fixed dictionary (e.g. a holder's token as a map key). */
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
  /** Whether to return the item as written. @default false */
  returnNew?: boolean;
}

/** The outcome of a conditional write: applied or refused, with the item after or before it. */
export interface Attempt {
  applied: boolean;
  /** ALL_NEW if applied and asked for; the item as it was if refused (undefined: no item). */
  item: Item | undefined;
}

const placeholders = (pattern: RegExp, ...expressions: (string | undefined)[]) =>
  new Set(expressions.flatMap((expression) => expression?.match(pattern) ?? []));

/** The version condition of an optimistic write: the item is still as it was read. */
export function versionCondition(version: number | undefined): { condition: string; values: Record<string, AttributeValue> } {
  return version === undefined
    ? { condition: 'attribute_not_exists(#version)', values: {} }
    : { condition: '#version = :seen', values: { ':seen': n(version) } };
}

/** @internal The item of one Mutex, RWMutex, Semaphore or Once key. */
export class HolderItem {
  /** This process's holders and queued waiters of the item (starvation mode's wake-ups). */
  readonly wakeups: LocalWakeups;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly key: Key,
    /** The fixed `#placeholder` → attribute name dictionary of this item kind. */
    private readonly dictionary: Record<string, string>,
  ) {
    this.wakeups = LocalWakeups.forItem(tableName, key);
  }

  /** The UpdateItem input for an update, with exactly the placeholders it uses (DynamoDB refuses unused ones). */
  input(update: Update): UpdateItemCommandInput {
    const names: Record<string, string> = {};
    for (const name of placeholders(/#[A-Za-z0-9_]+/g, update.update, update.condition)) {
      const attribute = update.names?.[name] ?? this.dictionary[name];
      if (attribute === undefined) throw new Error(`no attribute for placeholder ${name}`);
      names[name] = attribute;
    }
    const values: Record<string, AttributeValue> = {};
    for (const value of placeholders(/:[A-Za-z0-9_]+/g, update.update, update.condition)) {
      const attributeValue = update.values?.[value];
      if (attributeValue === undefined) throw new Error(`no value for placeholder ${value}`);
      values[value] = attributeValue;
    }
    return {
      TableName: this.tableName,
      Key: this.key,
      UpdateExpression: update.update,
      ...(update.condition ? { ConditionExpression: update.condition } : {}),
      ExpressionAttributeNames: names,
      ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
      ...(update.returnNew ? { ReturnValues: 'ALL_NEW' as const } : {}),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
  }

  /**
   * A write that may grant (a lock, read lock, permits, a writer's intent, a Once claim), as
   * `attempt` but never cut short by a caller's signal: one cut short after the server applied it
   * would leave the grant held by no one until its lease ends. Callers stop their waits with the
   * signal instead; a grant that lands as it aborts is theirs (Go's semaphore.Acquire does the same).
   */
  grant(update: Update): Promise<Attempt> {
    return this.attempt(update);
  }

  /**
   * One conditional UpdateItem. A refusal is an outcome, not an error. Cost: 1 UpdateItem (plus 1
   * GetItem in the rare case DynamoDB rejects a nested path on an item that is not there yet).
   * @throws whatever the SDK throws for anything but a failed condition
   */
  async attempt(update: Update, signal?: AbortSignal): Promise<Attempt> {
    try {
      const { Attributes } = await retryConflicts(update.operation ?? `${this.key.pk.S ?? 'holder item'}: update`, signal, () =>
        this.client.send(new UpdateItemCommand(this.input(update)), callOptions(signal)),
      );
      return { applied: true, item: Attributes };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        checkVersion(err.Item);
        return { applied: false, item: err.Item };
      }
      // A nested path (`readers.#token`) into a map that does not exist yet: DynamoDB may report it
      // instead of the failed condition that guards it. Decide on the item itself.
      if (isMissingDocumentPath(err)) return { applied: false, item: await this.read(signal) };
      throw err;
    }
  }

  /** A strongly consistent read of the item. Cost: 1 GetItem. */
  async read(signal?: AbortSignal): Promise<Item | undefined> {
    const { Item } = await abortable(signal, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }), callOptions(signal)),
    );
    checkVersion(Item);
    return Item;
  }
}

function isMissingDocumentPath(err: unknown): boolean {
  return err instanceof Error && err.name === 'ValidationException' && /document path/i.test(err.message);
}
