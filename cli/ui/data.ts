/**
 * What `fnmesh ui` shows, read from a stage through the readers `fnmesh status`, `fnmesh trace`
 * and `fnmesh dlq` use: read-only, but for the dead letters' redrive (deadLetters.ts, guarded by
 * actions.ts). The server (server.ts) takes a {@link UiData}; tests give it a fake one. The documents' shapes are web/types.ts's (the page's contract): the
 * compiler checks that what the readers return fits them.
 */
import type { MeshContext } from '../context.ts';
import { readStatus } from '../commands/status.ts';
import { readTrace } from '../commands/trace.ts';
import { meshDeadLetters, type UiDeadLetters } from './deadLetters.ts';
import { meshLogs, type UiLogs } from './logs.ts';
import { MeshSnapshots } from './snapshot.ts';
import { topologyReader } from './topologyRead.ts';
import { summarizeTraces } from './traces.ts';
import type { ApiStatus, ApiTopology, ApiTrace, ApiTraceSummary } from './web/types.ts';

/** The read-only views the UI's API serves. */
export interface UiData {
  stage: string;
  tableName: string;
  status(options: { signal?: AbortSignal }): Promise<ApiStatus>;
  traces(options: { limit: number; signal?: AbortSignal }): Promise<ApiTraceSummary[]>;
  /** @throws MeshConfigError if no hops were recorded under `traceId` */
  trace(traceId: string, options: { signal?: AbortSignal }): Promise<ApiTrace>;
  /** The deployed stack as a graph with live counts (topologyRead.ts). @throws MeshConfigError if the stack cannot be read */
  topology(options: { signal?: AbortSignal }): Promise<ApiTopology>;
  /** Dead letters and their redrive (the UI's only write; actions.ts guards it); without it, those routes answer 404. */
  deadLetters?: UiDeadLetters;
  /** One invocation's log lines (a failed hop's); without it, `/api/logs` answers 404. */
  logs?: UiLogs;
  /** Aborts every read in flight (the server calls it when it closes), so nothing holds the process. */
  close?(): void;
}

export interface MeshUiDataOptions {
  /** The runs list is summed from the last status read's snapshot if it ended less than this long ago. @default 2000 */
  maxAgeMs?: number;
  /** Parallel Scan segments (snapshot.ts). @default 1 */
  segments?: number;
  /** Read only the attributes the views use (snapshot.ts). @default true except on stage local (LocalStack: slower) */
  projection?: boolean;
}

/**
 * The UI's views of a stage, through its clients and names. One Scan of the table per read
 * (snapshot.ts) serves both the status and the runs list: each status read takes a new one (or
 * joins the one running), the runs list takes the last one while it is fresh.
 */
export function meshUiData(ctx: MeshContext, options: MeshUiDataOptions = {}): UiData {
  const topology = topologyReader(ctx);
  const logs = meshLogs(ctx);
  const snapshots = new MeshSnapshots(ctx.dynamodb, ctx.tableName, { projection: ctx.stage !== 'local', ...options });
  return {
    stage: ctx.stage,
    tableName: ctx.tableName,
    async status({ signal }) {
      const { document, deadLetters, items, readAt } = await readStatus(ctx, {
        ...(signal ? { signal } : {}),
        list: () => snapshots.read({ fresh: true }),
      });
      return {
        stage: ctx.stage,
        tableName: ctx.tableName,
        readAt,
        channels: document.channels,
        deadLetters,
        locks: document.locks,
        groups: document.groups,
        waitGroups: items.waitGroups,
        onceKeys: items.onceKeys,
        strict: document.strict,
      };
    },
    traces: async ({ limit }) => summarizeTraces((await snapshots.read()).hops, limit),
    trace: async (traceId, { signal }) => logs.linked(await readTrace(ctx, traceId, signal ? { signal } : {})),
    deadLetters: meshDeadLetters(ctx),
    logs,
    topology: ({ signal }) => topology.read(signal ? { signal } : {}),
    close: () => {
      snapshots.close();
      topology.close();
    },
  };
}
