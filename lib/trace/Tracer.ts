/**
 * Tracing across hops. Every hop of a run — a function invocation, a channel send or receive, a
 * lock held, an RPC call, the driver itself — records one item under the run's trace id, so a run
 * can be followed hop by hop after the fact (`fnmesh trace <id>`). The trace id travels in channel
 * envelopes, RPC requests and task envelopes.
 *
 *   item  pk = trace#<traceId>, sk = <startedAt, 15 digits>#<hopId>   (sorted by start time;
 *         keys.traceHop in lib/table/layout.ts)
 *
 * A hop run inside a Lambda function can say where its logs are (`logs`: the function's log
 * group, log stream and the invocation's request id, from {@link lambdaInvocationLogs}), so a
 * failed hop leads to its error's log lines (`fnmesh trace`, `fnmesh ui`). Hops recorded without
 * them (elsewhere, or by an older fnmesh) read as before.
 */
import { type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { MeshConfigError } from '../errors.ts';
import { abortable, callOptions } from '../internal/time.ts';
import { retryConflicts } from '../internal/conflicts.ts';
import { FORMAT_VERSION, type Item, keys, n, readNumber, readString, s, tracePartition, ttlSeconds } from '../table/layout.ts';

/** Traces are kept a week on AWS (TTL), then expire. */
const TRACE_TTL_MS = 7 * 24 * 3600 * 1000;

export type HopKind = 'driver' | 'function' | 'channel' | 'lock' | 'rpc' | 'group';

/** Where a hop's logs are: one Lambda invocation's lines in CloudWatch Logs. */
export interface HopLogs {
  /** The function's log group, e.g. `/aws/lambda/fnmesh-dev-square`. */
  group: string;
  /** The execution environment's log stream, e.g. `2026/11/30/[$LATEST]5a96…`. */
  stream: string;
  /** The invocation's request id: every line of the invocation carries it. */
  requestId: string;
}

/**
 * Where this Lambda invocation's logs are: the log group and stream from the Lambda context (or
 * the runtime's `AWS_LAMBDA_LOG_GROUP_NAME` / `AWS_LAMBDA_LOG_STREAM_NAME`), and the context's
 * request id. @returns undefined outside a Lambda function (any of the three unknown)
 */
export function lambdaInvocationLogs(
  context: { awsRequestId?: string; logGroupName?: string; logStreamName?: string } | undefined,
  env: Record<string, string | undefined> = process.env,
): HopLogs | undefined {
  const group = context?.logGroupName || env.AWS_LAMBDA_LOG_GROUP_NAME;
  const stream = context?.logStreamName || env.AWS_LAMBDA_LOG_STREAM_NAME;
  const requestId = context?.awsRequestId;
  return group && stream && requestId ? { group, stream, requestId } : undefined;
}

export interface Hop {
  traceId: string;
  /** Unique per hop; children name it as their parent. @default a random UUID */
  hopId?: string;
  parent?: string | null;
  kind: HopKind;
  /** What the hop was: a function name, `send orders`, `lock counter`, `Quoter.Multiply`. */
  name: string;
  startedAt: number;
  endedAt: number;
  /** `ok` or the error's name. */
  outcome?: string;
  /** Small facts worth showing: a fence, a count, a shard. */
  detail?: Record<string, string | number | boolean>;
  /** Where the hop's logs are, if it ran inside a Lambda invocation. */
  logs?: HopLogs;
}

export interface TracerOptions {
  client: DynamoDBClient;
  tableName: string;
}

/** A hop's item (docs/item-format.md, Trace hop). */
export function traceHopItem(hop: Required<Pick<Hop, 'hopId'>> & Hop): Item {
  return {
    ...keys.traceHop(hop.traceId, hop.startedAt, hop.hopId),
    v: n(FORMAT_VERSION),
    hopId: s(hop.hopId),
    kind: s(hop.kind),
    name: s(hop.name),
    startedAt: n(hop.startedAt),
    endedAt: n(hop.endedAt),
    outcome: s(hop.outcome ?? 'ok'),
    ...(hop.parent ? { parent: s(hop.parent) } : {}),
    ...(hop.detail ? { detail: s(JSON.stringify(hop.detail)) } : {}),
    ...(hop.logs ? { logGroup: s(hop.logs.group), logStream: s(hop.logs.stream), requestId: s(hop.logs.requestId) } : {}),
    expiresAt: ttlSeconds(hop.endedAt + TRACE_TTL_MS),
  };
}

/** A hop from its item; attributes an older fnmesh did not write are left out. */
export function traceHopOf(traceId: string, item: Item): Hop {
  const detail = readString(item, 'detail');
  const [group, stream, requestId] = [readString(item, 'logGroup'), readString(item, 'logStream'), readString(item, 'requestId')];
  return {
    traceId,
    hopId: readString(item, 'hopId') ?? '',
    parent: readString(item, 'parent') ?? null,
    kind: (readString(item, 'kind') ?? 'function') as HopKind,
    name: readString(item, 'name') ?? '',
    startedAt: readNumber(item, 'startedAt') ?? 0,
    endedAt: readNumber(item, 'endedAt') ?? 0,
    outcome: readString(item, 'outcome') ?? 'ok',
    ...(detail ? { detail: JSON.parse(detail) as Record<string, string | number | boolean> } : {}),
    ...(group && stream && requestId ? { logs: { group, stream, requestId } } : {}),
  };
}

export class Tracer {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: TracerOptions) {
    if (!options?.client) throw new MeshConfigError('Tracer needs a DynamoDB client');
    if (!options.tableName) throw new MeshConfigError('Tracer needs the mesh table name');
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /** Records a finished hop. Cost: 1 PutItem. @returns its hop id */
  async record(hop: Hop, options: { signal?: AbortSignal } = {}): Promise<string> {
    const hopId = hop.hopId ?? randomUUID();
    await retryConflicts(`trace ${hop.traceId}: hop`, options.signal, () =>
      this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: traceHopItem({ ...hop, hopId }) }),
        callOptions(options.signal),
      ),
    );
    return hopId;
  }

  /** Times `work` as a hop of `traceId` and records it, whether it succeeds or throws. */
  async span<T>(hop: Omit<Hop, 'startedAt' | 'endedAt'>, work: (hopId: string) => Promise<T>): Promise<T> {
    const hopId = hop.hopId ?? randomUUID();
    const startedAt = Date.now();
    try {
      const result = await work(hopId);
      await this.record({ ...hop, hopId, startedAt, endedAt: Date.now() });
      return result;
    } catch (err) {
      await this.record({ ...hop, hopId, startedAt, endedAt: Date.now(), outcome: (err as Error)?.name ?? 'Error' }).catch(() => undefined);
      throw err;
    }
  }

  /** Every hop of a trace, by start time. Cost: 1 Query per 1 MB of hops. */
  async hops(traceId: string, options: { signal?: AbortSignal } = {}): Promise<Hop[]> {
    const hops: Hop[] = [];
    let start: Item | undefined;
    do {
      const page = await abortable(options.signal, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(tracePartition(traceId)) },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
          callOptions(options.signal),
        ),
      );
      for (const item of page.Items ?? []) hops.push(traceHopOf(traceId, item));
      start = page.LastEvaluatedKey;
    } while (start);
    return hops;
  }
}
