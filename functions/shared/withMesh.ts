/**
 * The middy stack every fnmesh function shares:
 * - structured JSON logs with the Lambda context (Powertools Logger), plus the run's trace id;
 * - the trace context taken from the event (its `trace`, else a task envelope's or an RPC
 *   request's: each protocol's own extraction), made available to the handler (`currentTrace()`), and the invocation recorded
 *   as a `function` hop of that trace, with where its logs are (log group, stream, request id:
 *   `invocationLogsField()`, for the hops a handler records itself);
 * - errors logged once with their type, then rethrown unchanged (their `name` is the Lambda
 *   `errorType` callers see);
 * - for SQS-triggered functions (`sqs: true`), an event that is not an SQS batch refused with
 *   InvalidInputError before the handler runs;
 * - injected worker faults when FNMESH_WORKER_FAULTS configures them (chaos runs only).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  type HopLogs,
  InvalidInputError,
  lambdaInvocationLogs,
  type TraceContext,
  traceContextOf,
  traceOfRequest,
  traceOfTask,
  type Tracer,
} from 'fnmesh';
import { workerFaults, workerFaultsFromEnv } from 'fnmesh/middlewares';

export const logger = new Logger({ serviceName: 'fnmesh' });

let current: { trace: TraceContext; hopId: string; startedAt: number } | undefined;
let invocationLogs: HopLogs | undefined;

/** Where this invocation's logs are (log group, stream, request id), as a hop's `logs` field: spread it into a hop the handler records. */
export function invocationLogsField(): { logs?: HopLogs } {
  return invocationLogs ? { logs: invocationLogs } : {};
}

/** The trace this invocation belongs to, with this invocation's hop as the parent of what it starts. */
export function currentTrace(): TraceContext | undefined {
  return current ? { traceId: current.trace.traceId, parent: current.hopId } : undefined;
}

/**
 * The trace context an event carries: its `trace` field (the CLI's demo events), else a task
 * envelope's or an RPC request's, each protocol reading its own.
 */
export function traceOf(event: unknown): TraceContext | undefined {
  const trace = (event as { trace?: unknown } | null | undefined)?.trace;
  if (trace !== undefined && trace !== null) return traceContextOf(trace);
  return traceOfTask(event) ?? traceOfRequest(event);
}

function tracing(tracer: Tracer | undefined): MiddlewareObj {
  const tracingBefore = (request: Request): void => {
    const trace = traceOf(request.event);
    invocationLogs = lambdaInvocationLogs(request.context);
    current = trace ? { trace, hopId: request.context.awsRequestId, startedAt: Date.now() } : undefined;
    if (trace) logger.appendKeys({ traceId: trace.traceId });
  };
  const finish = async (request: Request, outcome: string) => {
    const run = current;
    current = undefined;
    if (!run || !tracer) return;
    await tracer
      .record({
        traceId: run.trace.traceId,
        hopId: run.hopId,
        parent: run.trace.parent ?? null,
        kind: 'function',
        name: request.context.functionName,
        startedAt: run.startedAt,
        endedAt: Date.now(),
        outcome,
        ...(invocationLogs ? { logs: invocationLogs } : {}),
      })
      .catch((err: unknown) => logger.warn('could not record the trace hop', { error: err as Error }));
  };
  return {
    before: tracingBefore,
    after: (request) => finish(request, 'ok'),
    onError: async (request) => {
      const error = request.error as Error;
      logger.error('invocation failed', { errorType: error?.name, error });
      await finish(request, error?.name ?? 'Error');
    },
  };
}

const faults = workerFaultsFromEnv();

/** Refuses an event that is not an SQS batch: an object whose `Records` are objects with a string `body`. */
const sqsBatch: MiddlewareObj = {
  before: (request) => {
    const records = (request.event as { Records?: unknown } | null)?.Records;
    const valid =
      Array.isArray(records) && records.every((record) => typeof record === 'object' && record !== null && typeof record.body === 'string');
    if (!valid) throw new InvalidInputError('event', 'expected an SQS batch: an object whose Records each have a string body');
  },
};

export function withMesh<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  options: { tracer?: Tracer; sqs?: boolean } = {},
) {
  const stack = middy(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(tracing(options.tracer));
  if (faults) stack.use(workerFaults(faults));
  return options.sqs ? stack.use(sqsBatch) : stack;
}
