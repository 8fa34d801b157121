/**
 * One Lambda invocation's log lines for `fnmesh ui` (issue 16, item 4: from a failed hop to its
 * logs), read from CloudWatch Logs, and the AWS console's links on the hops of a trace.
 *
 *   GET /api/logs?group=…&stream=…&request=…[&from=ms&to=ms&limit=N&next=token]
 *
 * FilterLogEvents on the hop's log stream with the request id as the filter pattern; the lines
 * are also kept only if they contain the request id, because LocalStack (host mode: its Lambda
 * service stores each invocation's START/END/REPORT lines and the function's own output in
 * `/aws/lambda/<function>`, on the stream the function's `AWS_LAMBDA_LOG_STREAM_NAME` names)
 * ignores filter patterns. At most `limit` lines (≤ 200) and 5 calls per request; `nextToken`
 * continues. Only the stage's own functions' log groups (`/aws/lambda/fnmesh-<stage>-…`) are
 * read. The CloudWatch Logs client is loaded when first needed: the installed package does not
 * depend on it (a clear error says to install `@aws-sdk/client-cloudwatch-logs`).
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { MeshConfigError } from '../../lib/errors.ts';
import { localClientConfig } from '../../infra/localstack/clients.ts';
import { resourceName } from '../../infra/stack.ts';
import type { MeshContext } from '../context.ts';
import { consoleLogUrl, regionOf } from '../logLinks.ts';
import type { RouteAnswer } from './actions.ts';
import type { ApiLogLines, ApiTrace } from './web/types.ts';

export const MAX_LOG_LINES = 200;
const DEFAULT_LOG_LINES = 50;
const MAX_CALLS = 5;

/** Which invocation's lines to read, and which page of them. */
export interface LogQuery {
  group: string;
  stream: string;
  requestId: string;
  /** Epoch ms bounds of the lines (the hop's time, give or take): fewer events to scan. */
  from?: number;
  to?: number;
  limit: number;
  nextToken?: string;
}

/** What the server needs for the logs route and the trace's console links; tests give it a fake one. */
export interface UiLogs {
  lines(query: LogQuery, options: { signal?: AbortSignal }): Promise<ApiLogLines>;
  /** The trace with each hop's console link added (on stages other than local). */
  linked(trace: ApiTrace): Promise<ApiTrace>;
}

/** A refusal the route answers with its status (400 bad query, 501 no SDK client). */
export class LogQueryError extends MeshConfigError {
  override name = 'LogQueryError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

function epochMs(text: string | null, name: string): number | undefined {
  if (text === null) return undefined;
  const value = Number(text);
  if (!(Number.isSafeInteger(value) && value >= 0))
    throw new LogQueryError(400, `${name} must be epoch milliseconds, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * The query of `GET /api/logs`, checked: a log group of the stage's functions, a stream, a
 * request id (letters, digits, dashes), optional time bounds, limit (1–200, default 50), next.
 * @throws LogQueryError (400) saying what is wrong
 */
export function logQueryOf(params: URLSearchParams, stage: string): LogQuery {
  const group = params.get('group') ?? '';
  const stream = params.get('stream') ?? '';
  const requestId = params.get('request') ?? '';
  const prefix = `/aws/lambda/${resourceName(stage, '')}`;
  if (!group.startsWith(prefix) || group.length > 512 || CONTROL.test(group))
    throw new LogQueryError(400, `group must be a log group of this stage's functions (${prefix}…)`);
  if (!stream || stream.length > 512 || CONTROL.test(stream)) throw new LogQueryError(400, 'stream must be a log stream name');
  if (!REQUEST_ID.test(requestId)) throw new LogQueryError(400, 'request must be a Lambda request id (letters, digits, dashes)');
  const from = epochMs(params.get('from'), 'from');
  const to = epochMs(params.get('to'), 'to');
  const asked = Number(params.get('limit') ?? DEFAULT_LOG_LINES);
  const limit = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_LOG_LINES) : DEFAULT_LOG_LINES;
  const next = params.get('next');
  return {
    group,
    stream,
    requestId,
    limit,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(next ? { nextToken: next } : {}),
  };
}

type LogsSdk = typeof import('@aws-sdk/client-cloudwatch-logs');

async function loadLogsSdk(): Promise<LogsSdk> {
  try {
    return await import('@aws-sdk/client-cloudwatch-logs');
  } catch {
    throw new LogQueryError(501, 'reading logs needs the package @aws-sdk/client-cloudwatch-logs: npm install it beside fnmesh');
  }
}

/** The stage's logs, through a CloudWatch Logs client made like the context's clients (LocalStack on stage local). */
export function meshLogs(ctx: MeshContext): UiLogs {
  let client: Promise<{ sdk: LogsSdk; client: CloudWatchLogsClient }> | undefined;
  const region = () => regionOf(ctx.dynamodb);
  const open = () =>
    (client ??= Promise.all([loadLogsSdk(), region()]).then(([sdk, where]) => ({
      sdk,
      client: new sdk.CloudWatchLogsClient(ctx.stage === 'local' ? localClientConfig({ region: where }) : { region: where }),
    })));
  return {
    async lines(query, { signal }) {
      const { sdk, client: logs } = await open().catch((err: unknown) => {
        client = undefined;
        throw err;
      });
      const lines: ApiLogLines['lines'] = [];
      let nextToken = query.nextToken;
      let calls = 0;
      do {
        let page;
        try {
          page = await logs.send(
            new sdk.FilterLogEventsCommand({
              logGroupName: query.group,
              logStreamNames: [query.stream],
              filterPattern: `"${query.requestId}"`,
              limit: query.limit - lines.length,
              ...(query.from !== undefined ? { startTime: query.from } : {}),
              ...(query.to !== undefined ? { endTime: query.to } : {}),
              ...(nextToken ? { nextToken } : {}),
            }),
            signal ? { abortSignal: signal } : {},
          );
        } catch (err) {
          if ((err as Error)?.name === 'ResourceNotFoundException')
            throw new LogQueryError(404, `no log group ${query.group} (or stream ${query.stream}): ${(err as Error).message}`);
          throw err;
        }
        for (const event of page.events ?? [])
          if (event.message?.includes(query.requestId))
            lines.push({ timestamp: event.timestamp ?? 0, message: event.message.replace(/\n$/, '') });
        nextToken = page.nextToken;
        calls++;
      } while (nextToken && lines.length < query.limit && calls < MAX_CALLS);
      const where = { group: query.group, stream: query.stream, requestId: query.requestId };
      return {
        ...where,
        lines,
        nextToken: nextToken ?? null,
        consoleUrl: ctx.stage === 'local' ? null : consoleLogUrl(await region(), where),
      };
    },
    async linked(trace) {
      if (ctx.stage === 'local' || !trace.hops.some((hop) => hop.logs)) return trace;
      const where = await region();
      return {
        ...trace,
        hops: trace.hops.map((hop) => (hop.logs ? { ...hop, logs: { ...hop.logs, consoleUrl: consoleLogUrl(where, hop.logs) } } : hop)),
      };
    },
  };
}

/** Answers `GET /api/logs` (after the server's screen), or undefined for another path. */
export async function logRoute(
  url: URL,
  options: { logs: UiLogs | undefined; stage: string; signal: AbortSignal },
): Promise<RouteAnswer | undefined> {
  if (url.pathname !== '/api/logs') return undefined;
  const refusal = (status: number, message: string): RouteAnswer => ({ status, document: { error: { status, message } } });
  if (!options.logs) return refusal(404, 'no logs here');
  try {
    return { status: 200, document: await options.logs.lines(logQueryOf(url.searchParams, options.stage), { signal: options.signal }) };
  } catch (err) {
    if (err instanceof LogQueryError) return refusal(err.status, err.message);
    throw err;
  }
}
