/**
 * Recent runs for `fnmesh ui`: every trace in the mesh table summed up (first start, last end,
 * hops, failed hops, the driver's name), newest first. A trace's hops live in its own partition
 * (`trace#<traceId>`, lib/trace/Tracer.ts); nothing indexes traces by time, so listing them takes
 * a Scan. One run's hops are read with `readTrace` (cli/commands/trace.ts), as `fnmesh trace` does.
 */
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Item } from '../../lib/table/layout.ts';

/** One run in the list of recent runs. */
export interface TraceSummary {
  traceId: string;
  /** The driver hop's name if the run has one (`demo squares`), else the first hop's. */
  name: string;
  /** The first hop's start (epoch ms, its recorder's clock). */
  startedAt: number;
  /** From the first hop's start to the last hop's end. */
  durationMs: number;
  hops: number;
  /** Hops whose outcome is not `ok`. */
  failed: number;
}

const TRACE_PREFIX = 'trace#';

function text(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

function number(item: Item, name: string): number | undefined {
  const value = item[name]?.N;
  return value === undefined ? undefined : Number(value);
}

/**
 * Sums up trace hop items (as a Scan returns them: any order, any mix of traces) into one summary
 * per trace, newest first, at most `limit`. Pure: the Scan is in {@link listTraces}.
 */
export function summarizeTraces(items: Iterable<Item>, limit: number): TraceSummary[] {
  const byTrace = new Map<string, TraceSummary & { driverName?: string; firstName: string; endedAt: number }>();
  for (const item of items) {
    const pk = text(item, 'pk');
    if (!pk?.startsWith(TRACE_PREFIX)) continue;
    const traceId = pk.slice(TRACE_PREFIX.length);
    const startedAt = number(item, 'startedAt') ?? 0;
    const endedAt = Math.max(startedAt, number(item, 'endedAt') ?? startedAt);
    const name = text(item, 'name') ?? '';
    const failed = (text(item, 'outcome') ?? 'ok') === 'ok' ? 0 : 1;
    const known = byTrace.get(traceId);
    if (!known) {
      byTrace.set(traceId, {
        traceId,
        name,
        startedAt,
        durationMs: 0,
        hops: 1,
        failed,
        firstName: name,
        endedAt,
        ...(text(item, 'kind') === 'driver' ? { driverName: name } : {}),
      });
      continue;
    }
    known.hops++;
    known.failed += failed;
    if (startedAt < known.startedAt) {
      known.startedAt = startedAt;
      known.firstName = name;
    }
    known.endedAt = Math.max(known.endedAt, endedAt);
    if (text(item, 'kind') === 'driver' && known.driverName === undefined) known.driverName = name;
  }
  return [...byTrace.values()]
    .sort((a, b) => b.startedAt - a.startedAt || a.traceId.localeCompare(b.traceId))
    .slice(0, limit)
    .map(({ traceId, driverName, firstName, startedAt, endedAt, hops, failed }) => ({
      traceId,
      name: driverName ?? firstName,
      startedAt,
      durationMs: endedAt - startedAt,
      hops,
      failed,
    }));
}

/**
 * The newest `limit` runs recorded in the mesh table.
 *
 * Cost: one paginated Scan of the whole table (eventually consistent: 0.5 RCU per 4 KB of every
 * item, whatever the filter keeps), reading only the hop attributes a summary needs. Fine for a
 * dashboard refreshed every few seconds on a development table; a table of millions of items
 * would want an index by time (not built).
 */
export async function listTraces(
  client: DynamoDBClient,
  tableName: string,
  options: { limit?: number; signal?: AbortSignal } = {},
): Promise<TraceSummary[]> {
  const { limit = 50, signal } = options;
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(#pk, :trace)',
        ProjectionExpression: '#pk, #kind, #name, #startedAt, #endedAt, #outcome',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#kind': 'kind',
          '#name': 'name',
          '#startedAt': 'startedAt',
          '#endedAt': 'endedAt',
          '#outcome': 'outcome',
        },
        ExpressionAttributeValues: { ':trace': { S: TRACE_PREFIX } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return summarizeTraces(items, limit);
}
