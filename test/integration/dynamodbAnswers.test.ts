/**
 * DynamoDB answers as AWS gives them (fnmesh_localstack/dynamodb_answers.py): what a user's code
 * receives for each call, expected as the DynamoDB API Reference documents it.
 */
import {
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeContributorInsightsCommand,
  DescribeKinesisStreamingDestinationCommand,
  DescribeTableCommand,
  DisableKinesisStreamingDestinationCommand,
  EnableKinesisStreamingDestinationCommand,
  ExecuteStatementCommand,
  ExecuteTransactionCommand,
  GetItemCommand,
  PutItemCommand,
  type ReturnValue,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateContributorInsightsCommand,
  UpdateKinesisStreamingDestinationCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localConfig } from '../../infra/localstack/clients.ts';
import { dynamodb, uniqueSuffix } from '../../infra/localstack/resources.ts';

const created: string[] = [];

async function createTable(input: Partial<CreateTableCommandInput> = {}) {
  const name = `fnmesh-test-answers-${uniqueSuffix()}`;
  const answer = await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      ...input,
    }),
  );
  created.push(name);
  return { name, answer };
}

async function failure(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  const error = await call.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return { name: error!.name, message: error!.message };
}

/** KMS DescribeKey as a plain JSON call: the project has no KMS client among its dependencies. */
async function describeKmsKey(keyId: string): Promise<Record<string, unknown>> {
  const response = await fetch(localConfig.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey' },
    body: JSON.stringify({ KeyId: keyId }),
  });
  const body = (await response.json()) as { KeyMetadata?: Record<string, unknown> };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.KeyMetadata!;
}

let table: string;

beforeAll(async () => {
  table = (await createTable()).name;
});

afterAll(async () => {
  await Promise.allSettled(created.map((name) => dynamodb.send(new DeleteTableCommand({ TableName: name }))));
});

describe('DynamoDB answers', () => {
  describe('items', () => {
    it('answers a PutItem that replaced nothing without Attributes, even with ReturnValues ALL_OLD', async () => {
      const key = `put-${uniqueSuffix()}`;

      const first = await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key } }, ReturnValues: 'ALL_OLD' }));
      const second = await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key } }, ReturnValues: 'ALL_OLD' }));

      expect(first.Attributes).toBeUndefined();
      expect(second.Attributes).toEqual({ pk: { S: key } });
    });

    it('reports consumed capacity and item collection metrics only when asked for them', async () => {
      const key = `capacity-${uniqueSuffix()}`;

      const write = await dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: { pk: { S: key } } } }] } }),
      );
      const read = await dynamodb.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: [{ pk: { S: key } }] } } }));
      const transaction = await dynamodb.send(
        new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: table, Item: { pk: { S: key } } } }] }),
      );
      const asked = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ReturnConsumedCapacity: 'TOTAL' }));

      expect(write.ConsumedCapacity).toBeUndefined();
      expect(write.ItemCollectionMetrics).toBeUndefined();
      expect(write.UnprocessedItems).toEqual({});
      expect(read.ConsumedCapacity).toBeUndefined();
      expect(read.Responses?.[table]).toEqual([{ pk: { S: key } }]);
      expect(transaction.ConsumedCapacity).toBeUndefined();
      expect(transaction.ItemCollectionMetrics).toBeUndefined();
      expect(asked.ConsumedCapacity?.TableName).toBe(table);
    });

    it('refuses a batch whose item lacks the key with "The provided key element does not match the schema"', async () => {
      const error = await failure(
        dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: { other: { S: 'x' } } } }] } })),
      );

      expect(error).toEqual({ name: 'ValidationException', message: 'The provided key element does not match the schema' });
    });

    it('answers a transaction, and its repeat under the same token (attributes reordered), with nothing unasked for', async () => {
      const key = `token-${uniqueSuffix()}`;
      const token = `t-${uniqueSuffix()}`;

      const first = await dynamodb.send(
        new TransactWriteItemsCommand({
          ClientRequestToken: token,
          TransactItems: [{ Put: { TableName: table, Item: { pk: { S: key }, n: { N: '1' } } } }],
        }),
      );
      const repeat = await dynamodb.send(
        new TransactWriteItemsCommand({
          ClientRequestToken: token,
          TransactItems: [{ Put: { TableName: table, Item: { n: { N: '1' }, pk: { S: key } } } }],
        }),
      );

      expect(first.ConsumedCapacity).toBeUndefined();
      expect(repeat.ConsumedCapacity).toBeUndefined();
    });
  });

  describe('request validation', () => {
    it('refuses an empty parameter list with the model constraint it breaks', async () => {
      const error = await failure(dynamodb.send(new ExecuteStatementCommand({ Statement: `SELECT * FROM "${table}"`, Parameters: [] })));

      expect(error).toEqual({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1",
      });
    });

    it('refuses a value outside an enum, naming the allowed values', async () => {
      const error = await failure(
        dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'enum' } }, ReturnValues: 'EVERYTHING' as ReturnValue })),
      );

      expect(error).toEqual({
        name: 'ValidationException',
        message:
          "1 validation error detected: Value 'EVERYTHING' at 'returnValues' failed to satisfy constraint: " +
          'Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]',
      });
    });

    it('refuses provisioned throughput on an on-demand table in AWS words', async () => {
      const error = await failure(createTable({ ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }));

      expect(error).toEqual({
        name: 'ValidationException',
        message:
          'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
      });
    });
  });

  describe('table descriptions', () => {
    it('describes a provisioned table with a stable TableId, without BillingModeSummary or empty index lists', async () => {
      const { name, answer } = await createTable({
        BillingMode: 'PROVISIONED',
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
      });

      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));

      expect(answer.TableDescription?.TableStatus).toBe('CREATING');
      expect(answer.TableDescription?.WarmThroughput).toBeUndefined();
      expect(Table?.TableId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Table?.TableId).toBe(answer.TableDescription?.TableId);
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.BillingModeSummary).toBeUndefined();
      expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
      expect(Table?.LocalSecondaryIndexes).toBeUndefined();
      expect(Table?.WarmThroughput).toEqual({ ReadUnitsPerSecond: 5, WriteUnitsPerSecond: 5, Status: 'ACTIVE' });
    });

    it('describes an on-demand table with the time it became on-demand, and its GSIs with ARNs and sizes', async () => {
      const { name, answer } = await createTable({
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'gk', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          { IndexName: 'byGk', KeySchema: [{ AttributeName: 'gk', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
        ],
      });

      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));

      expect(answer.TableDescription?.BillingModeSummary).toEqual({ BillingMode: 'PAY_PER_REQUEST' });
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Table?.BillingModeSummary?.LastUpdateToPayPerRequestDateTime).toEqual(Table?.CreationDateTime);
      expect(Table?.GlobalSecondaryIndexes?.[0]).toMatchObject({
        IndexArn: `${Table?.TableArn}/index/byGk`,
        IndexSizeBytes: 0,
        ItemCount: 0,
        ProvisionedThroughput: { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
      });
    });

    it('answers CreateTable with the requested warm throughput as UPDATING', async () => {
      const { answer } = await createTable({
        BillingMode: 'PROVISIONED',
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
        WarmThroughput: { ReadUnitsPerSecond: 1000, WriteUnitsPerSecond: 1200 },
      });

      expect(answer.TableDescription?.WarmThroughput).toEqual({ ReadUnitsPerSecond: 1000, WriteUnitsPerSecond: 1200, Status: 'UPDATING' });
    });

    it('answers DeleteTable with the table DELETING, and an unknown table by name', async () => {
      const { name, answer } = await createTable();

      const deleted = await dynamodb.send(new DeleteTableCommand({ TableName: name }));
      const error = await failure(dynamodb.send(new DeleteTableCommand({ TableName: name })));

      expect(deleted.TableDescription?.TableStatus).toBe('DELETING');
      expect(deleted.TableDescription?.TableId).toBe(answer.TableDescription?.TableId);
      expect(error).toEqual({ name: 'ResourceNotFoundException', message: `Requested resource not found: Table: ${name} not found` });
    });

    it('encrypts with the account’s AWS-managed DynamoDB key in KMS when encryption at rest names no key', async () => {
      const first = await createTable({ SSESpecification: { Enabled: true } });
      const second = await createTable({ SSESpecification: { Enabled: true } });
      const { KMSMasterKeyArn, SSEType, Status } = first.answer.TableDescription?.SSEDescription ?? {};

      const key = await describeKmsKey(KMSMasterKeyArn!);

      expect({ SSEType, Status }).toEqual({ SSEType: 'KMS', Status: 'ENABLED' });
      expect(second.answer.TableDescription?.SSEDescription?.KMSMasterKeyArn).toBe(KMSMasterKeyArn);
      expect(key).toMatchObject({
        Arn: KMSMasterKeyArn,
        KeyManager: 'AWS',
        Description: 'Default key that protects my DynamoDB data when no other key is defined',
      });
    });
  });

  describe('PartiQL', () => {
    it('runs each statement of a batch on its own, numbers included, and reports a failing one in its place', async () => {
      const key = `partiql-${uniqueSuffix()}`;
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `${key}-old` } } }));

      const { Responses } = await dynamodb.send(
        new BatchExecuteStatementCommand({
          Statements: [
            { Statement: `INSERT INTO "${table}" VALUE {'pk': '${key}-new'}` },
            { Statement: `UPDATE "${table}" SET Age=20 WHERE pk='${key}-old'` },
            { Statement: `INSERT INTO "${table}" VALUE {'pk': '${key}-old'}` },
          ],
        }),
      );
      const updated = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-old` } } }));
      const inserted = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-new` } } }));

      expect(Responses?.slice(0, 2)).toEqual([{ TableName: table }, { TableName: table }]);
      expect(Responses?.[2]?.Error?.Code).toBe('DuplicateItem');
      expect(updated.Item).toEqual({ pk: { S: `${key}-old` }, Age: { N: '20' } });
      expect(inserted.Item).toEqual({ pk: { S: `${key}-new` } });
    });

    it('selects, updates and deletes by key in the usual forms: literals unspaced, numbers, parameters', async () => {
      const key = `partiql-forms-${uniqueSuffix()}`;
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key }, n: { N: '1' } } }));

      await dynamodb.send(new ExecuteStatementCommand({ Statement: `UPDATE "${table}" SET n=5 WHERE pk='${key}'` }));
      const selected = await dynamodb.send(
        new ExecuteStatementCommand({ Statement: `SELECT * FROM "${table}" WHERE pk='${key}' AND n=5` }),
      );
      await dynamodb.send(new ExecuteStatementCommand({ Statement: `DELETE FROM "${table}" WHERE pk=?`, Parameters: [{ S: key }] }));
      const after = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }));

      expect(selected.Items).toEqual([{ pk: { S: key }, n: { N: '5' } }]);
      expect(after.Item).toBeUndefined();
    });

    it('cancels a PartiQL transaction whose INSERT meets an existing key, applying none of it', async () => {
      const key = `partiql-tx-${uniqueSuffix()}`;
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `${key}-old` } } }));

      const error = (await dynamodb
        .send(
          new ExecuteTransactionCommand({
            TransactStatements: [
              { Statement: `INSERT INTO "${table}" VALUE {'pk': '${key}-new'}` },
              { Statement: `INSERT INTO "${table}" VALUE {'pk': '${key}-old'}` },
            ],
          }),
        )
        .catch((err: unknown) => err)) as TransactionCanceledException;
      const inserted = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}-new` } } }));

      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(error.CancellationReasons).toEqual([
        { Code: 'None' },
        { Code: 'DuplicateItem', Message: 'Duplicate primary key exists in table' },
      ]);
      expect(inserted.Item).toBeUndefined();
    });
  });

  describe('table settings moto lacks', () => {
    it('reports contributor insights DISABLED until enabled, then ENABLED', async () => {
      const before = await dynamodb.send(new DescribeContributorInsightsCommand({ TableName: table }));
      const update = await dynamodb.send(new UpdateContributorInsightsCommand({ TableName: table, ContributorInsightsAction: 'ENABLE' }));
      const after = await dynamodb.send(new DescribeContributorInsightsCommand({ TableName: table }));

      expect(before).toMatchObject({ TableName: table, ContributorInsightsStatus: 'DISABLED' });
      expect(update).toMatchObject({ TableName: table, ContributorInsightsStatus: 'ENABLING' });
      expect(after).toMatchObject({ TableName: table, ContributorInsightsStatus: 'ENABLED' });
    });

    it('keeps a Kinesis streaming destination: enabled, described, its precision updated once, disabled', async () => {
      const { name } = await createTable();
      const streamArn = `arn:aws:kinesis:${localConfig.region}:000000000000:stream/fnmesh-test-${uniqueSuffix()}`;
      const precision = { ApproximateCreationDateTimePrecision: 'MICROSECOND' } as const;

      const enable = await dynamodb.send(new EnableKinesisStreamingDestinationCommand({ TableName: name, StreamArn: streamArn }));
      const described = await dynamodb.send(new DescribeKinesisStreamingDestinationCommand({ TableName: name }));
      const update = await dynamodb.send(
        new UpdateKinesisStreamingDestinationCommand({
          TableName: name,
          StreamArn: streamArn,
          UpdateKinesisStreamingConfiguration: precision,
        }),
      );
      const again = await failure(
        dynamodb.send(
          new UpdateKinesisStreamingDestinationCommand({
            TableName: name,
            StreamArn: streamArn,
            UpdateKinesisStreamingConfiguration: precision,
          }),
        ),
      );
      const disable = await dynamodb.send(new DisableKinesisStreamingDestinationCommand({ TableName: name, StreamArn: streamArn }));
      const unknown = await failure(dynamodb.send(new DescribeKinesisStreamingDestinationCommand({ TableName: `${name}-missing` })));
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));

      expect(enable).toMatchObject({ TableName: name, StreamArn: streamArn, DestinationStatus: 'ENABLING' });
      expect(described.KinesisDataStreamDestinations).toEqual([{ StreamArn: streamArn, DestinationStatus: 'ACTIVE' }]);
      expect(update).toMatchObject({ DestinationStatus: 'UPDATING', UpdateKinesisStreamingConfiguration: precision });
      expect(again).toEqual({
        name: 'ValidationException',
        message: `Invalid Request: Precision is already set to the desired value of MICROSECOND for tableId: ${Table?.TableId}, kdsArn: ${streamArn}`,
      });
      expect(disable).toMatchObject({ DestinationStatus: 'DISABLING' });
      expect(unknown).toEqual({
        name: 'ResourceNotFoundException',
        message: `Requested resource not found: Table: ${name}-missing not found`,
      });
    });
  });
});
