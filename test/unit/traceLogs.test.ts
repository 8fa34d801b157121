/**
 * Where a hop's logs are (issue 16, item 4), without a cloud: what `lambdaInvocationLogs` takes
 * from a Lambda context and the runtime's environment, the trace hop item's `logGroup`,
 * `logStream` and `requestId` (docs/item-format.md) and old items without them, the withMesh
 * middleware recording them on a failed invocation's hop, the API's query checks, and the
 * console link.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { withMesh } from '../../functions/shared/withMesh.ts';
import { consoleLogUrl } from '../../cli/logLinks.ts';
import { LogQueryError, logQueryOf } from '../../cli/ui/logs.ts';
import { type Hop, lambdaInvocationLogs, Tracer, traceHopItem, traceHopOf } from '../../lib/trace/Tracer.ts';

const LOGS = {
  group: '/aws/lambda/fnmesh-dev-square',
  stream: '2026/11/30/[$LATEST]5a964eefa1a4db5b58fce8f7cd510d67',
  requestId: '7f69a7cd-9f84-430e-b676-ac395494252f',
};

describe('lambdaInvocationLogs', () => {
  it("takes the log group and stream from the Lambda context, else from the runtime's environment, and the request id", () => {
    const context = { awsRequestId: LOGS.requestId, logGroupName: LOGS.group, logStreamName: LOGS.stream };
    expect(lambdaInvocationLogs(context, {})).toEqual(LOGS);
    expect(
      lambdaInvocationLogs(
        { awsRequestId: LOGS.requestId },
        { AWS_LAMBDA_LOG_GROUP_NAME: LOGS.group, AWS_LAMBDA_LOG_STREAM_NAME: LOGS.stream },
      ),
    ).toEqual(LOGS);
  });

  it('is undefined outside a Lambda invocation (any of the three unknown)', () => {
    expect(lambdaInvocationLogs(undefined, {})).toBeUndefined();
    expect(lambdaInvocationLogs({ awsRequestId: 'r' }, {})).toBeUndefined();
    expect(lambdaInvocationLogs({ logGroupName: 'g', logStreamName: 's' }, {})).toBeUndefined();
    expect(lambdaInvocationLogs({ awsRequestId: 'r', logGroupName: 'g' }, {})).toBeUndefined();
  });
});

describe('the trace hop item', () => {
  const hop: Hop & { hopId: string } = {
    traceId: 't1',
    hopId: 'h1',
    parent: 'p1',
    kind: 'function',
    name: 'fnmesh-dev-square',
    startedAt: 1_764_115_200_000,
    endedAt: 1_764_115_200_250,
    outcome: 'InjectedFailureError',
    logs: LOGS,
  };

  it('keeps where the logs are as logGroup, logStream and requestId, and reads them back', () => {
    const item = traceHopItem(hop);
    expect(item).toMatchObject({ logGroup: { S: LOGS.group }, logStream: { S: LOGS.stream }, requestId: { S: LOGS.requestId } });
    expect(traceHopOf('t1', item)).toEqual(hop);
  });

  it('writes none of them for a hop without logs, and reads an old item (without them) as before', () => {
    const { logs: _logs, ...old } = hop;
    const item = traceHopItem(old);
    expect(Object.keys(item)).not.toContain('logGroup');
    expect(Object.keys(item)).not.toContain('requestId');
    const read = traceHopOf('t1', item);
    expect(read).toEqual(old);
    expect('logs' in read).toBe(false);
  });

  it('ignores an incomplete set (no half a link)', () => {
    const item = traceHopItem(hop);
    delete item.logStream;
    expect(traceHopOf('t1', item).logs).toBeUndefined();
  });
});

/** A Tracer that keeps the hops it is asked to record (no table). */
class KeptHops extends Tracer {
  readonly kept: Hop[] = [];
  constructor() {
    super({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'unused' });
  }
  override async record(hop: Hop): Promise<string> {
    this.kept.push(hop);
    return hop.hopId ?? '';
  }
}

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'fnmesh-dev-square',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fnmesh-dev-square',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: LOGS.group,
    logStreamName: LOGS.stream,
    getRemainingTimeInMillis: () => 10_000,
    done() {},
    fail() {},
    succeed() {},
  };
}

describe('withMesh', () => {
  it("records a failed invocation's hop with its outcome and where its logs are; a good one too", async () => {
    // Prepare
    const tracer = new KeptHops();
    const failing = withMesh(
      async () => {
        throw new RangeError('no square for you');
      },
      { tracer },
    );
    const fine = withMesh(async () => 'ok', { tracer });
    // Act
    const error = await failing({ trace: { traceId: 'trace-1' } }, lambdaContext('req-1')).catch((err: unknown) => err);
    await fine({ trace: { traceId: 'trace-2' } }, lambdaContext('req-2'));
    // Assess
    expect(error).toBeInstanceOf(RangeError);
    expect(tracer.kept).toEqual([
      expect.objectContaining({ traceId: 'trace-1', hopId: 'req-1', outcome: 'RangeError', logs: { ...LOGS, requestId: 'req-1' } }),
      expect.objectContaining({ traceId: 'trace-2', hopId: 'req-2', outcome: 'ok', logs: { ...LOGS, requestId: 'req-2' } }),
    ]);
  });
});

describe('GET /api/logs query', () => {
  const query = (params: Record<string, string>) => logQueryOf(new URLSearchParams(params), 'dev');
  const good = { group: LOGS.group, stream: LOGS.stream, request: LOGS.requestId };

  it('takes a log group of the stage, a stream, a request id, bounds, a limit (at most 200) and a page token', () => {
    expect(query(good)).toEqual({ group: LOGS.group, stream: LOGS.stream, requestId: LOGS.requestId, limit: 50 });
    expect(query({ ...good, from: '1000', to: '2000', limit: '5000', next: 'abc' })).toEqual({
      group: LOGS.group,
      stream: LOGS.stream,
      requestId: LOGS.requestId,
      from: 1000,
      to: 2000,
      limit: 200,
      nextToken: 'abc',
    });
  });

  it.each([
    ['another stage', { ...good, group: '/aws/lambda/fnmesh-prod-square' }],
    ['not a Lambda log group', { ...good, group: '/ecs/fnmesh-dev-square' }],
    ['no stream', { ...good, stream: '' }],
    ['a stream with a control character', { ...good, stream: 'a\nb' }],
    ['a request id that could escape the filter pattern', { ...good, request: 'a" OR "b' }],
    ['no request id', { group: good.group, stream: good.stream }],
    ['a bound that is not epoch ms', { ...good, from: 'yesterday' }],
  ])('refuses %s with 400', (_what, params) => {
    const error = (() => {
      try {
        query(params);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(LogQueryError);
    expect((error as LogQueryError).status).toBe(400);
  });
});

describe('consoleLogUrl', () => {
  it("links the console's page of the stream, filtered to the request id, escaped as the console escapes", () => {
    expect(consoleLogUrl('eu-west-1', LOGS)).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/' +
        '$252Faws$252Flambda$252Ffnmesh-dev-square/log-events/2026$252F11$252F30$252F$255B$2524LATEST$255D5a964eefa1a4db5b58fce8f7cd510d67' +
        '$3FfilterPattern$3D$2522' +
        '7f69a7cd-9f84-430e-b676-ac395494252f$2522',
    );
  });
});
