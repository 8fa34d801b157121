import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../lib/errors.ts';
import { isTaskEnvelope, serializePayload } from '../../lib/spawn/go.ts';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FencedWriteOutcomeUnknownError, StaleFenceError } from '../../lib/errors.ts';
import { addFenceToUpdateExpression, fencedUpdate, withFence, withFencePut } from '../../lib/sync/fenced.ts';
import { checkName, keys } from '../../lib/table/layout.ts';

describe('fenced writes', () => {
  it.each([
    [undefined, 'SET #fnmeshFence = :fnmeshFence'],
    ['SET #a = :a', 'SET #fnmeshFence = :fnmeshFence, #a = :a'],
    ['ADD #n :one', 'SET #fnmeshFence = :fnmeshFence ADD #n :one'],
    ['REMOVE #x SET #a = :a', 'REMOVE #x SET #fnmeshFence = :fnmeshFence, #a = :a'],
    ['set #a = :a', 'set #fnmeshFence = :fnmeshFence, #a = :a'],
    // Placeholders that spell the keyword are not the SET clause.
    ['ADD #n :set', 'SET #fnmeshFence = :fnmeshFence ADD #n :set'],
    ['REMOVE #set SET #a = :a', 'REMOVE #set SET #fnmeshFence = :fnmeshFence, #a = :a'],
    ['ADD #set_count :one SET #a = :Set', 'ADD #set_count :one SET #fnmeshFence = :fnmeshFence, #a = :Set'],
  ])('adds the fence to %s', (expression, expected) => {
    expect(addFenceToUpdateExpression(expression).replace(/\s+/g, ' ')).toBe(expected);
  });

  it("guards the user's condition with the fence condition and keeps their names and values", () => {
    const input = withFence(
      {
        TableName: 't',
        Key: {},
        UpdateExpression: 'SET #a = :a',
        ConditionExpression: 'attribute_exists(#a)',
        ExpressionAttributeNames: { '#a': 'a' },
        ExpressionAttributeValues: { ':a': { S: 'x' } },
      },
      7,
    );

    expect(input.ConditionExpression).toBe(
      '(attribute_not_exists(#fnmeshFence) OR #fnmeshFence <= :fnmeshFence) AND (attribute_exists(#a))',
    );
    expect(input.ExpressionAttributeNames).toEqual({ '#a': 'a', '#fnmeshFence': 'lastFence' });
    expect(input.ExpressionAttributeValues).toEqual({ ':a': { S: 'x' }, ':fnmeshFence': { N: '7' } });
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('stores the fence on a put item under the chosen attribute', () => {
    const input = withFencePut({ TableName: 't', Item: { pk: { S: 'a' } } }, 3, 'fence');

    expect(input.Item).toEqual({ pk: { S: 'a' }, fence: { N: '3' } });
    expect(input.ExpressionAttributeNames).toEqual({ '#fnmeshFence': 'fence' });
  });

  it('refuses fences that are not positive integers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.constant(Number.NaN)), (fence) => {
        expect(() => withFence({ TableName: 't', Key: {} }, fence)).toThrow(MeshConfigError);
      }),
    );
  });
});

describe('item layout', () => {
  it('keys every kind under its own prefix', () => {
    expect(keys.mutex('a')).toEqual({ pk: { S: 'mutex#a' }, sk: { S: 'lock' } });
    expect(keys.waitGroupTask('g', 't1')).toEqual({ pk: { S: 'waitgroup#g' }, sk: { S: 'done#t1' } });
    expect(keys.groupTask('g', 't1')).toEqual({ pk: { S: 'group#g' }, sk: { S: 'task#t1' } });
    expect(keys.once('k')).toEqual({ pk: { S: 'once#k' }, sk: { S: 'once' } });
  });

  it.each([[''], ['a\u0000b'], ['x'.repeat(513)]])('refuses the name %j', (name) => {
    expect(() => checkName('lock', name)).toThrow(MeshConfigError);
  });
});

describe('task payloads', () => {
  it('recognises only well-formed envelopes', () => {
    const task = { kind: 'group', tableName: 't', name: 'g', taskId: '1', functionName: 'f' };

    expect(isTaskEnvelope({ fnmesh: { v: 1, task }, payload: 1 })).toBe(true);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(isTaskEnvelope(value)).toBe(false);
      }),
    );
  });

  it('refuses what JSON cannot carry, and sizes over the limit, with typed errors', () => {
    expect(() => serializePayload(undefined, 100)).toThrow(expect.objectContaining({ name: 'InvalidInputError' }));
    expect(() => serializePayload({ n: 1n }, 100)).toThrow(expect.objectContaining({ name: 'InvalidInputError' }));
    expect(() => serializePayload('x'.repeat(200), 100)).toThrow(
      expect.objectContaining({ name: 'PayloadTooLargeError', bytes: 202, limit: 100 }),
    );
    expect(serializePayload({ a: [1, 'é'] }, 100)).toBe('{"a":[1,"é"]}');
  });
});

describe('a fenced write refused for a newer fence', () => {
  const refusal = (attempts: number) =>
    Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { attempts } }), {
      Item: { lastFence: { N: '7' } },
    });
  const clientThrowing = (err: Error) => ({ send: async () => Promise.reject(err) }) as unknown as DynamoDBClient;
  const input = {
    TableName: 't',
    Key: { pk: { S: 'a' } },
    UpdateExpression: 'SET v = :v',
    ExpressionAttributeValues: { ':v': { N: '1' } },
  };

  it('on the first attempt: StaleFenceError, it was not applied', async () => {
    await expect(fencedUpdate(clientThrowing(refusal(1)), input, 5)).rejects.toMatchObject({
      name: 'StaleFenceError',
      fence: 5,
      latestFence: 7,
    });
  });

  it('on an SDK retry: the outcome is unknown (an earlier attempt may have applied), never StaleFenceError', async () => {
    const err = await fencedUpdate(clientThrowing(refusal(3)), input, 5).catch((error: unknown) => error);
    expect(err).toBeInstanceOf(FencedWriteOutcomeUnknownError);
    expect(err).not.toBeInstanceOf(StaleFenceError);
    expect(err).toMatchObject({ fence: 5, latestFence: 7, attempts: 3 });
  });
});
