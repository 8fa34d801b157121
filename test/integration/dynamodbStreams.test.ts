/**
 * DynamoDB Streams and TTL on fnmesh's LocalStack (streams kept by the plugin over moto's tables):
 * the records every kind of write leaves, in each view type, read with the real Streams client; a
 * table's stream triggering a Lambda function (an event-source mapping made with the SDK, and one
 * declared in a CloudFormation stack the way serverless.yml's `stream` events compile); and items
 * whose TTL has passed disappearing within the documented sweep delay.
 */
import {
  BatchExecuteStatementCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  DeleteTableCommand,
  DescribeTableCommand,
  ExecuteStatementCommand,
  ExecuteTransactionCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateStackCommand, DeleteStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  DeleteFunctionCommand,
  GetEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { localConfig } from '../../infra/localstack/clients.ts';
import { cloudformation, dynamodb, lambda, logs, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { eventually } from '../helpers/eventually.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

const streams = new DynamoDBStreamsClient(localConfig);
const suffix = uniqueSuffix();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A table keyed by `pk` (and `sk` if asked), with a stream of the given view type. */
async function createTable(name: string, viewType?: StreamViewType, withSortKey = false) {
  const { TableDescription } = await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        ...(withSortKey ? [{ AttributeName: 'sk', AttributeType: 'N' as const }] : []),
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, ...(withSortKey ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : [])],
      ...(viewType ? { StreamSpecification: { StreamEnabled: true, StreamViewType: viewType } } : {}),
    }),
  );
  cleanups.push(() => dynamodb.send(new DeleteTableCommand({ TableName: name })));
  return TableDescription!;
}

/** Every record in the stream's shards so far, from TRIM_HORIZON. */
async function readAll(streamArn: string): Promise<_Record[]> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription!.Shards!) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...page.Records!);
      if (page.Records!.length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** The writes every view-type test makes, one of each kind of write, two that change nothing. */
async function writeEveryWay(table: string) {
  await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } })); // INSERT a
  await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } })); // unchanged: none
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'a' } },
      UpdateExpression: 'SET n = n + :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
    }),
  ); // MODIFY a
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: 'b' } },
      UpdateExpression: 'SET n = :n',
      ExpressionAttributeValues: { ':n': { N: '7' } },
    }),
  ); // INSERT b (an update that creates: one record)
  await dynamodb.send(
    new BatchWriteItemCommand({
      RequestItems: {
        [table]: [
          { DeleteRequest: { Key: { pk: { S: 'b' } } } }, // REMOVE b
          { PutRequest: { Item: { pk: { S: 'c' }, bin: { B: new Uint8Array([0, 1, 2, 255]) } } } }, // INSERT c
          { PutRequest: { Item: { pk: { S: 'a' }, n: { N: '2' } } } }, // unchanged: none
        ],
      },
    }),
  );
  await dynamodb.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: table, Item: { pk: { S: 'd' } } } }, // INSERT d
        {
          Update: {
            TableName: table,
            Key: { pk: { S: 'c' } },
            UpdateExpression: 'SET tag = :t',
            ExpressionAttributeValues: { ':t': { S: 'x' } },
          },
        }, // MODIFY c
        { Delete: { TableName: table, Key: { pk: { S: 'a' } } } }, // REMOVE a
      ],
    }),
  );
  // A cancelled transaction and a failed conditional write leave no record.
  await expect(
    dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { pk: { S: 'e' } } } },
          { ConditionCheck: { TableName: table, Key: { pk: { S: 'a' } }, ConditionExpression: 'attribute_exists(pk)' } },
        ],
      }),
    ),
  ).rejects.toThrow(/cancel/i);
  await expect(
    dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'd' } }, ConditionExpression: 'attribute_not_exists(pk)' })),
  ).rejects.toThrow(/conditional/i);
  await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'nothing-here' } } })); // none
  await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'd' } } })); // REMOVE d
}

// What each record of writeEveryWay's carries: event, key, old image, new image.
const EXPECTED = [
  ['INSERT', 'a', undefined, { pk: { S: 'a' }, n: { N: '1' } }],
  ['MODIFY', 'a', { pk: { S: 'a' }, n: { N: '1' } }, { pk: { S: 'a' }, n: { N: '2' } }],
  ['INSERT', 'b', undefined, { pk: { S: 'b' }, n: { N: '7' } }],
  ['REMOVE', 'b', { pk: { S: 'b' }, n: { N: '7' } }, undefined],
  ['INSERT', 'c', undefined, { pk: { S: 'c' }, bin: { B: new Uint8Array([0, 1, 2, 255]) } }],
  ['INSERT', 'd', undefined, { pk: { S: 'd' } }],
  [
    'MODIFY',
    'c',
    { pk: { S: 'c' }, bin: { B: new Uint8Array([0, 1, 2, 255]) } },
    { pk: { S: 'c' }, bin: { B: new Uint8Array([0, 1, 2, 255]) }, tag: { S: 'x' } },
  ],
  ['REMOVE', 'a', { pk: { S: 'a' }, n: { N: '2' } }, undefined],
  ['REMOVE', 'd', { pk: { S: 'd' } }, undefined],
] as const;

describe('DynamoDB Streams', () => {
  for (const viewType of ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'] as const) {
    it(`records every change once, in order, with ${viewType}`, async () => {
      const table = `fnmesh-test-streams-${viewType.toLowerCase()}-${suffix}`;
      const description = await createTable(table, viewType);
      const streamArn = description.LatestStreamArn!;
      expect(streamArn).toBe(`${description.TableArn}/stream/${description.LatestStreamLabel}`);
      expect(description.LatestStreamLabel).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);

      await writeEveryWay(table);
      const records = await readAll(streamArn);

      expect(records.map((record) => [record.eventName, record.dynamodb!.Keys!.pk!.S])).toEqual(
        EXPECTED.map(([event, key]) => [event, key]),
      );
      const numbers = records.map((record) => BigInt(record.dynamodb!.SequenceNumber!));
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
      records.forEach((record, i) => {
        const [, , oldImage, newImage] = EXPECTED[i]!;
        expect(record).toMatchObject({ eventSource: 'aws:dynamodb', eventVersion: '1.1', awsRegion: 'us-east-1' });
        expect(record.eventID).toMatch(/^[0-9a-f]{32}$/);
        expect(record.userIdentity).toBeUndefined();
        expect(record.dynamodb!.StreamViewType).toBe(viewType);
        expect(record.dynamodb!.SizeBytes).toBeGreaterThan(0);
        expect(Math.abs(record.dynamodb!.ApproximateCreationDateTime!.getTime() - Date.now())).toBeLessThan(120_000);
        expect(record.dynamodb!.NewImage).toEqual(viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES' ? newImage : undefined);
        expect(record.dynamodb!.OldImage).toEqual(viewType === 'OLD_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES' ? oldImage : undefined);
      });
    });
  }

  it('records PartiQL writes too (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction)', async () => {
    const table = `fnmesh-test-streams-partiql-${suffix}`;
    const streamArn = (await createTable(table, 'NEW_IMAGE')).LatestStreamArn!;

    await dynamodb.send(new ExecuteStatementCommand({ Statement: `INSERT INTO "${table}" VALUE {'pk': 'p1', 'n': 1}` }));
    const batch = await dynamodb.send(
      new BatchExecuteStatementCommand({
        Statements: [
          { Statement: `INSERT INTO "${table}" VALUE {'pk': 'p2', 'n': 2}` },
          { Statement: `UPDATE "${table}" SET n = 10 WHERE pk = 'p1'` },
          { Statement: `INSERT INTO "${table}" VALUE {'pk': 'p1', 'n': 3}` }, // duplicate key: this one fails alone
        ],
      }),
    );
    await dynamodb.send(
      new ExecuteTransactionCommand({
        TransactStatements: [
          { Statement: `DELETE FROM "${table}" WHERE pk = 'p2'` },
          { Statement: `INSERT INTO "${table}" VALUE {'pk': 'p3'}` },
        ],
      }),
    );

    expect(batch.Responses!.map((response) => response.Error?.Code)).toEqual([undefined, undefined, 'DuplicateItem']);
    const records = await readAll(streamArn);
    expect(records.map((record) => [record.eventName, record.dynamodb!.Keys!.pk!.S, record.dynamodb!.NewImage?.n?.N])).toEqual([
      ['INSERT', 'p1', '1'],
      ['INSERT', 'p2', '2'],
      ['MODIFY', 'p1', '10'],
      ['REMOVE', 'p2', undefined],
      ['INSERT', 'p3', undefined],
    ]);
  });

  it('serves shards and iterators as AWS does (LATEST, AT/AFTER_SEQUENCE_NUMBER, ExclusiveStartShardId, ListStreams)', async () => {
    const table = `fnmesh-test-streams-api-${suffix}`;
    const description = await createTable(table, 'KEYS_ONLY', true);
    const streamArn = description.LatestStreamArn!;
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    expect(StreamDescription).toMatchObject({
      StreamArn: streamArn,
      StreamStatus: 'ENABLED',
      StreamViewType: 'KEYS_ONLY',
      TableName: table,
    });
    expect(StreamDescription!.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const shard = StreamDescription!.Shards![0]!;
    expect(shard.ShardId).toMatch(/^shardId-\d{20}-[a-zA-Z0-9]{1,36}$/);
    const after = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: shard.ShardId }));
    expect(after.StreamDescription!.Shards).toEqual([]);
    const listed = await streams.send(new ListStreamsCommand({ TableName: table }));
    expect(listed.Streams).toEqual([{ StreamArn: streamArn, TableName: table, StreamLabel: description.LatestStreamLabel }]);

    const iterator = async (type: 'LATEST' | 'TRIM_HORIZON' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER', sequenceNumber?: string) =>
      (
        await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shard.ShardId!,
            ShardIteratorType: type,
            SequenceNumber: sequenceNumber,
          }),
        )
      ).ShardIterator!;
    const latest = await iterator('LATEST');
    expect(latest.startsWith(`${streamArn}|1|`)).toBe(true);
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'x' }, sk: { N: '1' } } }));
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'x' }, sk: { N: '2' } } }));
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'x' }, sk: { N: '3' } } }));

    const fromLatest = await streams.send(new GetRecordsCommand({ ShardIterator: latest, Limit: 2 }));
    expect(fromLatest.Records!.map((record) => record.dynamodb!.Keys!.sk!.N)).toEqual(['1', '2']);
    const rest = await streams.send(new GetRecordsCommand({ ShardIterator: fromLatest.NextShardIterator! }));
    expect(rest.Records!.map((record) => record.dynamodb!.Keys!.sk!.N)).toEqual(['3']);
    const empty = await streams.send(new GetRecordsCommand({ ShardIterator: rest.NextShardIterator! }));
    expect(empty.Records).toEqual([]);
    expect(empty.NextShardIterator).toBeDefined();

    const second = fromLatest.Records![1]!.dynamodb!.SequenceNumber!;
    const at = await streams.send(new GetRecordsCommand({ ShardIterator: await iterator('AT_SEQUENCE_NUMBER', second) }));
    expect(at.Records!.map((record) => record.dynamodb!.Keys!.sk!.N)).toEqual(['2', '3']);
    const afterSecond = await streams.send(new GetRecordsCommand({ ShardIterator: await iterator('AFTER_SEQUENCE_NUMBER', second) }));
    expect(afterSecond.Records!.map((record) => record.dynamodb!.Keys!.sk!.N)).toEqual(['3']);

    await expect(
      streams.send(new DescribeStreamCommand({ StreamArn: `${description.TableArn}/stream/2024-11-18T14:36:44.149` })),
    ).rejects.toThrow(/Requested resource not found: Stream: .* not found/);
  });

  it('enables and disables a stream with UpdateTable; a disabled stream keeps its records, closed', async () => {
    const table = `fnmesh-test-streams-toggle-${suffix}`;
    const created = await createTable(table);
    expect(created.LatestStreamArn).toBeUndefined();
    const enabled = await dynamodb.send(
      new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }),
    );
    const first = enabled.TableDescription!.LatestStreamArn!;
    expect(enabled.TableDescription!.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'one' } } }));

    await dynamodb.send(new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: false } }));
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'unstreamed' } } }));
    const disabled = await streams.send(new DescribeStreamCommand({ StreamArn: first }));
    expect(disabled.StreamDescription!.StreamStatus).toBe('DISABLED');
    expect(disabled.StreamDescription!.Shards![0]!.SequenceNumberRange!.EndingSequenceNumber).toBeDefined();
    expect((await readAll(first)).map((record) => record.dynamodb!.Keys!.pk!.S)).toEqual(['one']);
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(Table!.LatestStreamArn).toBe(first);

    // Enabled again: a new stream, with a new label.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await dynamodb.send(
      new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } }),
    );
    const second = again.TableDescription!.LatestStreamArn!;
    expect(second).not.toBe(first);
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'two' } } }));
    expect((await readAll(second)).map((record) => record.dynamodb!.Keys!.pk!.S)).toEqual(['two']);
  });
});

describe('global tables (2019.11.21)', () => {
  it('a replica in another region gets the items, every later change both ways, and a stream of its own', async () => {
    const table = `fnmesh-test-streams-global-${suffix}`;
    const region2 = 'ap-southeast-1';
    const dynamodb2 = new DynamoDBClient({ ...localConfig, region: region2, maxAttempts: 1 });
    const streams2 = new DynamoDBStreamsClient({ ...localConfig, region: region2 });
    await createTable(table, 'NEW_AND_OLD_IMAGES');
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'before' } } }));
    const updated = await dynamodb.send(
      new UpdateTableCommand({ TableName: table, ReplicaUpdates: [{ Create: { RegionName: region2 } }] }),
    );
    cleanups.push(() => dynamodb2.send(new DeleteTableCommand({ TableName: table })));
    expect(updated.TableDescription!.Replicas).toEqual([{ RegionName: region2, ReplicaStatus: 'ACTIVE' }]);
    const replica = (await dynamodb2.send(new DescribeTableCommand({ TableName: table }))).Table!;
    expect(replica.Replicas).toEqual([{ RegionName: 'us-east-1', ReplicaStatus: 'ACTIVE' }]);
    expect(replica.LatestStreamArn).toContain(`:dynamodb:${region2}:`);
    const get2 = async (pk: string) => (await dynamodb2.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }))).Item;
    expect(await get2('before')).toEqual({ pk: { S: 'before' } });

    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'after' }, v: { N: '1' } } }));
    expect(await get2('after')).toEqual({ pk: { S: 'after' }, v: { N: '1' } });
    await dynamodb2.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'before' } } }));
    expect((await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'before' } } }))).Item).toBeUndefined();

    const { Streams } = await streams2.send(new ListStreamsCommand({ TableName: table }));
    expect(Streams!.map((stream) => stream.StreamArn)).toEqual([replica.LatestStreamArn]);
    const { StreamDescription } = await streams2.send(new DescribeStreamCommand({ StreamArn: replica.LatestStreamArn! }));
    const { ShardIterator } = await streams2.send(
      new GetShardIteratorCommand({
        StreamArn: replica.LatestStreamArn!,
        ShardId: StreamDescription!.Shards![0]!.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await streams2.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records!.map((record) => [record.eventName, record.awsRegion, record.dynamodb!.Keys!.pk!.S])).toEqual([
      ['INSERT', region2, 'after'],
      ['REMOVE', region2, 'before'],
    ]);
  });
});

// --- a table's stream triggers a function ---------------------------------------------------------

const HANDLER = `
exports.handler = async (event) => {
  for (const record of event.Records) {
    console.log('fnmesh-stream-record ' + JSON.stringify({ eventName: record.eventName, source: record.eventSource, key: record.dynamodb.Keys.pk.S, newImage: record.dynamodb.NewImage, arn: record.eventSourceARN, userIdentity: record.userIdentity }));
  }
  return {};
};
`;

interface Delivered {
  eventName: string;
  source: string;
  key: string;
  newImage?: Record<string, unknown>;
  arn: string;
  userIdentity?: { type: string; principalId: string };
}

/** The stream records a function has logged so far, once `done` says they are all there. */
function delivered(functionName: string, done: (records: Delivered[]) => boolean): Promise<Delivered[]> {
  return eventually(
    async () => {
      const { events = [] } = await logs
        .send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${functionName}`, filterPattern: '"fnmesh-stream-record"' }))
        .catch(() => ({ events: [] }));
      const marker = 'fnmesh-stream-record ';
      const records = events
        .map((event) => event.message ?? '')
        .filter((message) => message.includes(marker))
        .map((message) => JSON.parse(message.slice(message.indexOf(marker) + marker.length)) as Delivered);
      return done(records) ? records : undefined;
    },
    `stream records delivered to ${functionName}`,
    90_000,
  );
}

describe('a table stream triggers a Lambda function', () => {
  it('through an event-source mapping made with the SDK (TRIM_HORIZON, BatchSize, a filter; a TTL deletion)', async () => {
    const table = `fnmesh-test-streams-esm-${suffix}`;
    const functionName = `fnmesh-test-streams-fn-${suffix}`;
    const streamArn = (await createTable(table, 'NEW_AND_OLD_IMAGES')).LatestStreamArn!;
    await createInlineFunction(lambda, { name: functionName, code: HANDLER, timeout: 10 });
    cleanups.push(() => lambda.send(new DeleteFunctionCommand({ FunctionName: functionName })));
    // Written before the mapping exists: TRIM_HORIZON still delivers it.
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'early' } } }));
    const { UUID } = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: functionName,
        EventSourceArn: streamArn,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 2,
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'REMOVE'] }) }] },
      }),
    );
    cleanups.push(() => lambda.send(new DeleteEventSourceMappingCommand({ UUID })));
    await eventually(
      async () => ((await lambda.send(new GetEventSourceMappingCommand({ UUID }))).State === 'Enabled' ? true : undefined),
      'the event-source mapping enabled',
    );

    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'one' }, v: { N: '1' } } }));
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'one' }, v: { N: '2' } } })); // MODIFY: filtered out
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'early' } } }));
    await dynamodb.send(
      new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' } }),
    );
    await dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'expired' }, ttl: { N: String(Math.floor(Date.now() / 1000) - 1) } } }),
    );

    const records = await delivered(functionName, (seen) =>
      seen.some((record) => record.eventName === 'REMOVE' && record.key === 'expired'),
    );
    expect(records.map((record) => [record.eventName, record.key])).toEqual([
      ['INSERT', 'early'],
      ['INSERT', 'one'],
      ['REMOVE', 'early'],
      ['INSERT', 'expired'],
      ['REMOVE', 'expired'],
    ]);
    expect(records[1]!).toMatchObject({ source: 'aws:dynamodb', arn: streamArn, newImage: { pk: { S: 'one' }, v: { N: '1' } } });
    expect(records[2]!.userIdentity).toBeUndefined();
    expect(records[4]!.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });

  it("through a CloudFormation stack's AWS::Lambda::EventSourceMapping on the table's StreamArn (as serverless.yml compiles `stream` events)", async () => {
    const stackName = `fnmesh-test-streams-stack-${suffix}`;
    const table = `fnmesh-test-streams-cfn-${suffix}`;
    const functionName = `fnmesh-test-streams-cfn-fn-${suffix}`;
    const template = {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
          },
        },
        Function: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            FunctionName: functionName,
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            Role: 'arn:aws:iam::000000000000:role/fnmesh-test',
            Code: { ZipFile: HANDLER },
            Timeout: 10,
          },
        },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Function' },
            EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
            StartingPosition: 'TRIM_HORIZON',
            BatchSize: 10,
            Enabled: true,
          },
        },
      },
      Outputs: { StreamArn: { Value: { 'Fn::GetAtt': ['Table', 'StreamArn'] } } },
    };
    await cloudformation.send(new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }));
    cleanups.push(() => cloudformation.send(new DeleteStackCommand({ StackName: stackName })));
    const stack = await eventually(async () => {
      const [described] = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
      if (described?.StackStatus?.endsWith('_IN_PROGRESS')) return undefined;
      return described;
    }, 'the stack created');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const streamArn = stack.Outputs!.find((output) => output.OutputKey === 'StreamArn')!.OutputValue!;
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(streamArn).toBe(Table!.LatestStreamArn);

    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'from-the-stack' } } }));

    const records = await delivered(functionName, (seen) => seen.length > 0);
    expect(records).toEqual([
      { eventName: 'INSERT', source: 'aws:dynamodb', key: 'from-the-stack', newImage: { pk: { S: 'from-the-stack' } }, arn: streamArn },
    ]);
  });
});

// --- TTL -------------------------------------------------------------------------------------------

describe('TTL', () => {
  it('deletes an expired item within the sweep delay (a service REMOVE), and keeps the others', async () => {
    const table = `fnmesh-test-ttl-${suffix}`;
    const streamArn = (await createTable(table, 'OLD_IMAGE')).LatestStreamArn!;
    await dynamodb.send(
      new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' } }),
    );
    const now = Math.floor(Date.now() / 1000);
    const put = (pk: string, expiresAt?: { N: string } | { S: string }) =>
      dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ...(expiresAt ? { expiresAt } : {}) } }));
    await put('future', { N: String(now + 3600) });
    await put('no-ttl');
    await put('not-a-number', { S: String(now - 60) });
    await put('ancient', { N: String(now - 6 * 365 * 24 * 3600) }); // over five years ago: ignored, as on AWS
    const started = Date.now();
    await put('expired', { N: String(now - 1) });

    const exists = async (pk: string) =>
      (await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item !== undefined;
    await eventually(async () => ((await exists('expired')) ? undefined : true), 'the expired item deleted', 15_000);
    // The default sweep delay is 2 s (FNMESH_DYNAMODB_TTL_SWEEP_SECONDS); allow for a busy machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // another sweep
    for (const pk of ['future', 'no-ttl', 'not-a-number', 'ancient']) expect(await exists(pk)).toBe(true);

    const removals = (await readAll(streamArn)).filter((record) => record.eventName === 'REMOVE');
    expect(removals).toHaveLength(1);
    expect(removals[0]!.dynamodb!.Keys).toEqual({ pk: { S: 'expired' } });
    expect(removals[0]!.userIdentity).toEqual({ Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' });
    expect(removals[0]!.dynamodb!.OldImage).toEqual({ pk: { S: 'expired' }, expiresAt: { N: String(now - 1) } });
  });
});
