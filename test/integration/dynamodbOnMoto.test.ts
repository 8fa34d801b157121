/**
 * DynamoDB served by moto through fnmesh's provider: the properties the coordination
 * primitives stand on.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logFile } from '../../infra/localstack/localstack.ts';
import { dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

const table = `fnmesh-test-moto-${uniqueSuffix()}`;

beforeAll(async () => {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
});

afterAll(async () => {
  await dynamodb.send(new DeleteTableCommand({ TableName: table }));
});

function claim(key: string, owner: number) {
  return dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: { pk: { S: key }, owner: { N: String(owner) } },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );
}

describe('DynamoDB on moto', () => {
  it('grants exactly one of 50 parallel conditional puts on one key', async () => {
    const key = `race-${uniqueSuffix()}`;

    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, owner) => claim(key, owner)));

    const granted = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(granted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const outcome of refused) expect(outcome.reason).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('returns the current item to the loser of a conditional write (ReturnValuesOnConditionCheckFailure)', async () => {
    const key = `holder-${uniqueSuffix()}`;
    await claim(key, 7);

    const error = await claim(key, 8).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).toEqual({ pk: { S: key }, owner: { N: '7' } });
  });

  it('cancels a transaction with a reason per action, and the current item where asked', async () => {
    const key = `tx-${uniqueSuffix()}`;
    await claim(key, 1);

    const error = (await dynamodb
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { pk: { S: `${key}-other` } } } },
            {
              Put: {
                TableName: table,
                Item: { pk: { S: key } },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      )
      .catch((err: unknown) => err)) as TransactionCanceledException;

    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(error.CancellationReasons?.[1]?.Item).toEqual({ pk: { S: key }, owner: { N: '1' } });
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-other` } } }));
    expect(Item).toBeUndefined(); // nothing of a cancelled transaction is written
  });

  it('undoes the actions already applied when a later one fails', async () => {
    const key = `undo-${uniqueSuffix()}`;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key }, word: { S: 'text' } } }));

    const attempt = dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk: { S: `${key}-first` } } } },
          {
            Update: {
              TableName: table,
              Key: { pk: { S: key } },
              UpdateExpression: 'ADD #word :one',
              ExpressionAttributeNames: { '#word': 'word' },
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      }),
    );

    await expect(attempt).rejects.toThrow();
    const first = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-first` } } }));
    const second = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }));
    expect(first.Item).toBeUndefined();
    expect(second.Item).toEqual({ pk: { S: key }, word: { S: 'text' } });
  });

  it('honours ClientRequestToken as DynamoDB does: a repeat is not applied again; other items under the token are refused', async () => {
    const key = `token-${uniqueSuffix()}`;
    const add = (amount: number) => ({
      Update: {
        TableName: table,
        Key: { pk: { S: key } },
        UpdateExpression: 'ADD #count :amount',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':amount': { N: String(amount) } },
      },
    });
    const token = `t-${uniqueSuffix()}`;

    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [add(1)], ClientRequestToken: token }));
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [add(1)], ClientRequestToken: token }));
    await expect(
      dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [add(2)], ClientRequestToken: token })),
    ).rejects.toMatchObject({ name: 'IdempotentParameterMismatchException' });
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [add(1)], ClientRequestToken: `${token}-other` }));

    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }));
    expect(Item?.count).toEqual({ N: '2' }); // the first and the other token's
  });

  it('judges one condition text by the values of each call, in a transaction and across calls', async () => {
    const key = `values-${uniqueSuffix()}`;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key }, owner: { S: 'a' } } }));
    const ownedBy = (owner: string, pk = key) => ({
      TableName: table,
      Item: { pk: { S: pk }, owner: { S: owner } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: owner } },
    });

    // The same text with the same names, alternating values: each call is judged on its own.
    for (const [owner, holds] of [
      ['a', true],
      ['b', false],
      ['a', true],
      ['b', false],
    ] as const) {
      const put = dynamodb.send(new PutItemCommand(ownedBy(owner)));
      if (holds) await put;
      else await expect(put).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    }
    // The same text and values under other names.
    const otherName = dynamodb.send(new PutItemCommand({ ...ownedBy('a'), ExpressionAttributeNames: { '#owner': 'pk' } }));
    await expect(otherName).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    // In one transaction: the first action's condition holds, the second's (same text) does not.
    const other = `${key}-2`;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: other }, owner: { S: 'c' } } }));
    const error = (await dynamodb
      .send(new TransactWriteItemsCommand({ TransactItems: [{ Put: ownedBy('a') }, { Put: ownedBy('a', other) }] }))
      .catch((err: unknown) => err)) as TransactionCanceledException;
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual(['None', 'ConditionalCheckFailed']);
  });

  it('refuses an item over 400 KB and keeps one under it, as DynamoDB does', async () => {
    const key = `size-${uniqueSuffix()}`;
    const text = (kb: number) => ({ S: 'x'.repeat(kb * 1000) });
    // Many attributes, so a limit checked per attribute and one checked once must agree.
    const attributes = (kb: number) => Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`part${i}`, text(kb)]));

    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key }, ...attributes(39) } }));
    const tooLarge = dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `${key}-big` }, ...attributes(41) } }));

    await expect(tooLarge).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/size/i) });
    const kept = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }));
    const refused = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-big` } }, ConsistentRead: true }));
    expect(Object.keys(kept.Item ?? {})).toHaveLength(11);
    expect(refused.Item).toBeUndefined();
  });

  it('is served by moto, not DynamoDB Local', () => {
    const log = readFileSync(logFile, 'utf8');

    expect(log).not.toMatch(/dynamodb-local|DynamoDBLocal/i);
    expect(log).not.toMatch(/Configured provider \(moto\) does not exist/);
  });
});
