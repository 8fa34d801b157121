/**
 * Strict mode (docs/STRICT.md) on a LocalStack of this file's own, with a fixed seed: each of
 * AWS's adversities happens to raw SDK calls, with the shape AWS gives it, and a naive client fails
 * under it. The shared LocalStack (strict mode off) is the off switch's control.
 */
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, PutFunctionEventInvokeConfigCommand } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strictStatus, up } from '../../infra/localstack/localstack.ts';
import { createMeshTableNamed, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { scratchLocalStack, type ScratchLocalStack, startScratch } from '../../infra/localstack/scratch.ts';
import { eventually } from '../helpers/eventually.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

const SETTINGS = {
  FNMESH_STRICT: '1',
  FNMESH_STRICT_SEED: '7',
  // Much wider than the default 20 ms, so that a request sent "while a transaction holds the item"
  // (50 ms after it) lands in the window even on a machine busy with other test files.
  FNMESH_STRICT_TRANSACTION_WINDOW_MS: '400',
  FNMESH_STRICT_PARTITION_WRITE_UNITS: '20',
  FNMESH_STRICT_SQS_DUPLICATE_RATE: '0.2',
  FNMESH_STRICT_LAMBDA_DUPLICATE_RATE: '0.3',
  // LocalStack's own setting: AWS waits 1 and 2 minutes before an async event's retries; 1 and 2 s here.
  LAMBDA_RETRY_BASE_DELAY: '1',
};
const TABLE = 'strict';
/** Items (pk, sk): many items in one partition, to throttle without conflicts. */
const WIDE_TABLE = 'strict-wide';

let scratch: ScratchLocalStack;
let dynamodb: DynamoDBClient; // a naive client: no retries of its own, one SDK attempt
let sqs: SQSClient;
let lambda: LambdaClient;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  scratch = await scratchLocalStack('strict');
  await startScratch(scratch, SETTINGS);
  dynamodb = new DynamoDBClient({ ...scratch.config, maxAttempts: 1 });
  sqs = new SQSClient(scratch.config);
  lambda = new LambdaClient({ ...scratch.config, maxAttempts: 1 });
  logs = new CloudWatchLogsClient(scratch.config);
  await createKeyTable(TABLE, dynamodb);
  await createMeshTableNamed(WIDE_TABLE, dynamodb); // pk and sk, as the mesh table
}, 300_000);

/** A table keyed by `pk` alone: one item per partition key. */
async function createKeyTable(tableName: string, client: DynamoDBClient): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}

afterAll(async () => {
  await scratch?.remove();
});

const key = (pk: string): Record<string, AttributeValue> => ({ pk: { S: pk } });
const increment = (pk: string) => ({
  Update: { TableName: TABLE, Key: key(pk), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } },
});
const transact = (items: TransactWriteItemsCommandInput['TransactItems'], token?: string, client = dynamodb) =>
  client.send(new TransactWriteItemsCommand({ TransactItems: items, ...(token ? { ClientRequestToken: token } : {}) }));
const counterOf = async (pk: string, client = dynamodb) =>
  Number((await client.send(new GetItemCommand({ TableName: TABLE, Key: key(pk), ConsistentRead: true }))).Item?.n?.N ?? 0);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err as Error & Record<string, unknown>,
  );
const countsNow = async () => (await strictStatus(scratch.config.endpoint))!.counts;

/**
 * Starts a one-item transaction on `pk` and resolves once it is holding the item (in its window):
 * once a transactional read of it is cancelled (a read holds nothing). Not a fixed pause: on a
 * loaded machine the transaction may take longer than any pause to arrive, and what the caller
 * sends then meets no window. `committed` settles when the transaction returns.
 */
async function holding(pk: string): Promise<{ committed: Promise<unknown> }> {
  let settled = false;
  const committed = transact([increment(pk)]).finally(() => (settled = true));
  for (;;) {
    const probe = await failure(
      dynamodb.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: TABLE, Key: key(pk) } }] })),
    );
    if (probe?.name === 'TransactionCanceledException') return { committed };
    if (settled) throw new Error(`the transaction of ${pk} ended before a read saw it hold the item`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('DynamoDB transaction conflicts', () => {
  it('16 concurrent raw one-item transactions on one key: TransactionConflict cancellations, and the naive counter loses them', async () => {
    const rounds = 10;
    const concurrency = 16;
    let conflicts = 0;
    for (let round = 0; round < rounds; round++) {
      const pk = `hot-${round}`; // a fresh partition each round: throttling stays out of it
      const outcomes = await Promise.all(Array.from({ length: concurrency }, () => failure(transact([increment(pk)]))));
      for (const err of outcomes.filter(Boolean)) {
        expect(err!.name).toBe('TransactionCanceledException');
        expect(err!.CancellationReasons).toEqual([{ Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item.' }]);
        expect(err!.message).toBe('Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]');
      }
      const failed = outcomes.filter(Boolean).length;
      conflicts += failed;
      // A naive client that does not retry: what committed is exactly what succeeded.
      expect(await counterOf(pk)).toBe(concurrency - failed);
    }
    const rate = conflicts / (rounds * concurrency);
    console.log(
      `strict: ${concurrency} concurrent one-item transactions on one key: ${(rate * 100).toFixed(0)}% cancelled (TransactionConflict)`,
    );
    expect(rate).toBeGreaterThan(0.3);
  });

  it('a transaction that meets one held item: TransactionConflict at that action, None elsewhere; it applies nothing', async () => {
    const { committed } = await holding('held-a');
    const err = await failure(transact([increment('free-b'), increment('held-a'), increment('free-c')]));
    await committed;
    expect(err).toMatchObject({ name: 'TransactionCanceledException' });
    expect(err!.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item.' },
      { Code: 'None' },
    ]);
    expect([await counterOf('free-b'), await counterOf('held-a'), await counterOf('free-c')]).toEqual([0, 1, 0]);
  });

  it('PutItem on a held item: TransactionConflictException (not retried by the SDK); TransactGetItems: cancelled; GetItem: served', async () => {
    const { committed } = await holding('held-put');
    // A binary attribute too: whatever the item holds, the write is checked.
    // All three at once, so each meets the item inside the transaction's window even when the
    // machine is busy (one after another, the third could arrive after the window).
    const [put, read, plainRead] = await Promise.all([
      failure(
        dynamodb.send(
          new PutItemCommand({ TableName: TABLE, Item: { ...key('held-put'), n: { N: '100' }, blob: { B: new Uint8Array([1, 2]) } } }),
        ),
      ),
      failure(dynamodb.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: TABLE, Key: key('held-put') } }] }))),
      failure(counterOf('held-put')),
    ]);
    await committed;
    expect(put).toMatchObject({
      name: 'TransactionConflictException',
      message: 'Operation was rejected because there is an ongoing transaction for the item.',
    });
    expect(put!.$retryable).toBeUndefined();
    expect(read).toMatchObject({ name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'TransactionConflict' }] });
    expect(plainRead).toBeUndefined(); // reads are never refused
    expect(await counterOf('held-put')).toBe(1); // the transaction committed; the put never applied
  });

  it('conditions are evaluated at commit, and ReturnValuesOnConditionCheckFailure is honoured', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('guarded'), n: { N: '5' } } }));
    const err = await failure(
      transact([
        increment('guarded-other'),
        {
          Update: {
            TableName: TABLE,
            Key: key('guarded'),
            UpdateExpression: 'SET n = :zero',
            ConditionExpression: 'n = :one',
            ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ]),
    );
    expect(err!.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { ...key('guarded'), n: { N: '5' } } },
    ]);
    expect(await counterOf('guarded-other')).toBe(0);
  });
});

describe('DynamoDB client request tokens', () => {
  it('a repeat after success succeeds without applying again; other items under the same token are refused', async () => {
    const token = `token-${uniqueSuffix()}`;
    await transact([increment('token-ok')], token);
    await transact([increment('token-ok')], token);
    expect(await counterOf('token-ok')).toBe(1);
    const mismatch = await failure(transact([increment('token-other')], token));
    expect(mismatch).toMatchObject({ name: 'IdempotentParameterMismatchException' });
    expect(await counterOf('token-other')).toBe(0);
  });

  it('a repeat while the first is in its window: TransactionInProgressException, which the SDK retries into one application', async () => {
    const token = `token-${uniqueSuffix()}`;
    const first = transact([increment('token-racing')], token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const naive = await failure(transact([increment('token-racing')], token));
    expect(naive).toMatchObject({
      name: 'TransactionInProgressException',
      message: 'The transaction with the given request token is already in progress.',
    });
    await first;
    expect(await counterOf('token-racing')).toBe(1);
    // More attempts than the SDK's default 3: this window is far wider than a real transaction's.
    const retrying = new DynamoDBClient({ ...scratch.config, maxAttempts: 8 });
    // A pair sent 50 ms apart under one token. On a loaded machine the second may reach the table
    // only after the first's window ended (then it is a plain repeat after success, in one
    // attempt): the pair is sent again, under a new token, until one meets the window.
    let attempts: number[] = [];
    for (let round = 0; round < 5 && !(attempts[1]! > 1); round++) {
      const key = `token-racing-${round + 2}`;
      await counterOf(key, retrying); // connected, so the two below race only each other
      const second = transact([increment(key)], `${token}-${round + 2}`, retrying);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const repeat = transact([increment(key)], `${token}-${round + 2}`, retrying);
      attempts = (await Promise.all([second, repeat])).map((answer) => answer.$metadata.attempts ?? 0).sort((a, b) => a - b);
      // Either way, applied once.
      expect(await counterOf(key)).toBe(1);
    }
    // Whichever of the pair reached the table second was refused and retried by the SDK.
    expect(attempts[0]).toBe(1);
    expect(attempts[1]).toBeGreaterThan(1);
  });

  it('a repeat after a conflict cancelled the first runs again (the cancelled call applied nothing)', async () => {
    const token = `token-${uniqueSuffix()}`;
    const { committed } = await holding('token-conflict');
    const cancelled = await failure(transact([increment('token-conflict')], token));
    await committed;
    expect(cancelled).toMatchObject({ name: 'TransactionCanceledException' });
    await transact([increment('token-conflict')], token);
    expect(await counterOf('token-conflict')).toBe(2);
  });
});

describe('DynamoDB hot-key throttling', () => {
  const unitsPerSecond = Number(SETTINGS.FNMESH_STRICT_PARTITION_WRITE_UNITS);
  /** `attempts` concurrent writes, each to its own item of one partition (no conflicts, only capacity). */
  async function burst(write: (sk: string) => Promise<unknown>, attempts: number) {
    const startedAt = Date.now();
    const outcomes = await Promise.all(Array.from({ length: attempts }, (_, i) => failure(write(`item-${i}`))));
    return { ok: outcomes.filter((err) => !err).length, errors: outcomes.filter(Boolean), seconds: (Date.now() - startedAt) / 1000 };
  }
  const wideKey = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk } });

  it('writes beyond a partition key’s write units fail as on an on-demand table; other keys are served', async () => {
    const single = await burst((sk) => dynamodb.send(new PutItemCommand({ TableName: WIDE_TABLE, Item: wideKey('hot-single', sk) })), 40);
    const neighbour = await dynamodb.send(new PutItemCommand({ TableName: WIDE_TABLE, Item: wideKey('cold', 'item') }));
    expect(single.errors.length).toBeGreaterThan(0);
    expect(single.errors[0]).toMatchObject({
      name: 'ThrottlingException',
      message: expect.stringContaining('Throughput exceeds the current capacity of your table or index.'),
      throttlingReasons: [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(/:table\/strict-wide$/) }],
    });
    // One second of burst, refilled at the rate: never more than that passes.
    expect(single.ok).toBeGreaterThanOrEqual(unitsPerSecond);
    expect(single.ok).toBeLessThanOrEqual(unitsPerSecond * (1 + single.seconds) + 1);
    expect(neighbour.$metadata.httpStatusCode).toBe(200);
    console.log(
      `strict: ${unitsPerSecond} write units/s per key: ${single.ok}/40 concurrent puts passed in ${single.seconds.toFixed(2)} s`,
    );
  });

  it('transactional writes count double: a transaction over a hot partition is cancelled with ThrottlingError', async () => {
    const transactional = await burst(
      (sk) =>
        transact([
          {
            Update: {
              TableName: WIDE_TABLE,
              Key: wideKey('hot-transactional', sk),
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ]),
      40,
    );
    expect(transactional.errors[0]).toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'ThrottlingError', Message: expect.stringContaining('Throughput exceeds the current capacity') }],
    });
    expect(transactional.ok).toBeGreaterThanOrEqual(unitsPerSecond / 2);
    expect(transactional.ok * 2).toBeLessThanOrEqual(unitsPerSecond * (1 + transactional.seconds) + 2);
    console.log(`strict: ${transactional.ok}/40 concurrent transactions (2 units each) passed in ${transactional.seconds.toFixed(2)} s`);
  });
});

describe('SQS at-least-once', () => {
  /** Receives and deletes until the queue stays empty: how often each body came, and under which MessageIds. */
  async function drain(queueUrl: string): Promise<Map<string, number>> {
    const deliveries = new Map<string, number>();
    const ids = new Map<string, Set<string>>();
    let idle = 0;
    while (idle < 3) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
      );
      if (Messages.length === 0) idle += 1;
      else idle = 0;
      for (const message of Messages) {
        deliveries.set(message.Body!, (deliveries.get(message.Body!) ?? 0) + 1);
        ids.set(message.Body!, (ids.get(message.Body!) ?? new Set()).add(message.MessageId!));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
    expect([...ids.values()].every((messageIds) => messageIds.size === 1)).toBe(true); // a copy keeps its MessageId
    return deliveries;
  }

  async function sendValues(queueUrl: string, count: number, fifo = false) {
    for (let start = 0; start < count; start += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, count - start) }, (_, i) => ({
            Id: `m${i}`,
            MessageBody: String(start + i),
            ...(fifo ? { MessageGroupId: `g${i % 3}`, MessageDeduplicationId: String(start + i) } : {}),
          })),
        }),
      );
  }

  it('a raw consumer that deletes every message still sees some twice, with the same MessageId; the same seed duplicates the same ones', async () => {
    const name = `strict-standard-${uniqueSuffix()}`;
    const runOnce = async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      await sendValues(QueueUrl!, 100);
      const deliveries = await drain(QueueUrl!);
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      return deliveries;
    };
    const before = (await countsNow())['sqs-duplicate'] ?? 0;
    const first = await runOnce();
    const duplicated = [...first].filter(([, times]) => times > 1).map(([body]) => body);
    const extra = [...first.values()].reduce((sum, times) => sum + times - 1, 0);
    expect(first.size).toBe(100); // nothing lost
    expect(duplicated.length).toBeGreaterThan(0);
    expect((await countsNow())['sqs-duplicate']! - before).toBe(extra);
    console.log(`strict: a raw SQS consumer of 100 values received ${100 + extra} messages (${duplicated.length} values twice or more)`);

    // The queue created again under the same name draws the same adversities.
    const second = await runOnce();
    expect([...second].filter(([, times]) => times > 1).map(([body]) => body)).toEqual(duplicated);
  });

  it('FIFO queues keep exactly-once delivery', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `strict-${uniqueSuffix()}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    await sendValues(QueueUrl!, 100, true);
    const deliveries = await drain(QueueUrl!);
    expect(deliveries.size).toBe(100);
    expect([...deliveries.values()].every((times) => times === 1)).toBe(true);
  });
});

describe('Lambda asynchronous invocations', () => {
  const HANDLER = `
exports.handler = async (event) => {
  console.log('fnmesh-async-test ' + event.n);
  if (event.fail) throw new Error('failing on purpose: ' + event.n);
  return { n: event.n };
};
`;
  async function createFunction(name: string): Promise<void> {
    await createInlineFunction(lambda, { name, code: HANDLER, timeout: 5 });
  }
  async function invocationsOf(name: string): Promise<string[]> {
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await logs
        .send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${name}`, nextToken }))
        .catch(() => ({ events: [], nextToken: undefined }));
      for (const event of page.events ?? []) {
        const match = /fnmesh-async-test (\S+)/.exec(event.message ?? '');
        if (match) seen.push(match[1]!);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return seen;
  }

  it('a failing event is retried twice, then reaches its on-failure destination (RetriesExhausted, 3 attempts)', async () => {
    const name = `strict-fails-${uniqueSuffix()}`;
    await createFunction(name);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-failures` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: name,
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: Attributes!.QueueArn } },
      }),
    );
    await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: JSON.stringify({ n: 'x', fail: true }) }));
    const record = await eventually(
      async () => {
        const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
        return Messages?.[0] ? JSON.parse(Messages[0].Body!) : undefined;
      },
      'the on-failure record',
      60_000,
    );
    expect(record).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { n: 'x', fail: true },
      responseContext: { functionError: 'Unhandled' },
    });
    // Duplicates at the Lambda rate may add attempts; never fewer than the three.
    expect((await invocationsOf(name)).length).toBeGreaterThanOrEqual(3);
  });

  it('some events that succeed are still delivered twice (a function must be idempotent)', async () => {
    const name = `strict-dup-${uniqueSuffix()}`;
    await createFunction(name);
    // This function's duplicates only: the last test's failing event (retried, duplicated) may
    // still be running, and its duplicates count in the total.
    const duplicatesOf = async () => (await strictStatus(scratch.config.endpoint))!.byResource?.['lambda-async-duplicate']?.[name] ?? 0;
    const before = await duplicatesOf();
    const events = 30;
    for (let n = 0; n < events; n++)
      await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: JSON.stringify({ n }) }));
    const seen = await eventually(
      async () => {
        const all = await invocationsOf(name);
        const duplicates = (await duplicatesOf()) - before;
        return new Set(all).size === events && all.length === events + duplicates ? all : undefined;
      },
      'every event, and every duplicate, to run',
      90_000,
    );
    const twice = seen.length - events;
    expect(twice).toBeGreaterThan(0);
    console.log(`strict: ${events} asynchronous invocations ran ${seen.length} times`);
  });
});

describe('status and the off switch', () => {
  it('GET /_fnmesh/strict reports the settings and a count for every kind that happened', async () => {
    const status = (await strictStatus(scratch.config.endpoint))!;
    expect(status.enabled).toBe(true);
    expect(status.settings).toMatchObject({ seed: 7, partition_write_units: 20, sqs_duplicate_rate: 0.2 });
    for (const kind of [
      'transaction-conflict',
      'transaction-conflict-exception',
      'transact-get-conflict',
      'transaction-in-progress',
      'throttled',
      'sqs-duplicate',
      'lambda-async-duplicate',
    ])
      expect(status.counts[kind], kind).toBeGreaterThan(0);
    // Every duplicate is also counted where it happened, and only there.
    for (const kind of ['sqs-duplicate', 'lambda-async-duplicate']) {
      const byResource = Object.values(status.byResource?.[kind] ?? {});
      expect(byResource.length, kind).toBeGreaterThan(0);
      expect(
        byResource.reduce((sum, count) => sum + count, 0),
        kind,
      ).toBe(status.counts[kind]);
    }
  });

  it('off (FNMESH_STRICT=0): the same 16 concurrent transactions all commit, nothing is counted; asking it for strict mode is refused', async () => {
    const off = await scratchLocalStack('strict-off');
    try {
      await startScratch(off, { FNMESH_STRICT: '0' });
      expect(await strictStatus(off.config.endpoint)).toMatchObject({ enabled: false, counts: {} });
      const client = new DynamoDBClient({ ...off.config, maxAttempts: 1 });
      const tableName = `strict-off-${uniqueSuffix()}`;
      await createKeyTable(tableName, client);
      const write = () =>
        client.send(new TransactWriteItemsCommand({ TransactItems: [{ Update: { ...increment('hot').Update, TableName: tableName } }] }));
      await Promise.all(Array.from({ length: 16 }, write));
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key('hot'), ConsistentRead: true }));
      expect(Item?.n?.N).toBe('16');
      // Strict is the default: a LocalStack without it is refused rather than silently reused.
      await expect(up({ instance: off.instance, log: () => {}, environment: { FNMESH_STRICT: '' } })).rejects.toThrow(
        /runs with strict mode off, but strict mode on was asked for/,
      );
    } finally {
      await off.remove();
    }
  });

  it('a malformed setting stops start-up with the variable named', async () => {
    const bad = await scratchLocalStack('strict-bad');
    try {
      await expect(startScratch(bad, { FNMESH_STRICT: '1', FNMESH_STRICT_SQS_DUPLICATE_RATE: '2' })).rejects.toThrow(
        /FNMESH_STRICT_SQS_DUPLICATE_RATE must be 0 to 1, got '2'/,
      );
    } finally {
      await bad.remove();
    }
  });
});
