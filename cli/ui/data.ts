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
import { listTraces } from './traces.ts';
import { topologyReader } from './topologyRead.ts';
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
  /** Releases what the views hold (clients made for them). */
  close?(): void;
  /** Dead letters and their redrive (the UI's only write; actions.ts guards it); without it, those routes answer 404. */
  deadLetters?: UiDeadLetters;
  /** One invocation's log lines (a failed hop's); without it, `/api/logs` answers 404. */
  logs?: UiLogs;
}

/** The UI's views of a stage, through its clients and names. */
export function meshUiData(ctx: MeshContext): UiData {
  const topology = topologyReader(ctx);
  const logs = meshLogs(ctx);
  return {
    stage: ctx.stage,
    tableName: ctx.tableName,
    async status({ signal }) {
      const readAt = Date.now();
      const { document, deadLetters, items } = await readStatus(ctx, { kinds: ['waitGroup', 'once'], ...(signal ? { signal } : {}) });
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
    traces: ({ limit, signal }) => listTraces(ctx.dynamodb, ctx.tableName, { limit, ...(signal ? { signal } : {}) }),
    trace: async (traceId, { signal }) => logs.linked(await readTrace(ctx, traceId, signal ? { signal } : {})),
    deadLetters: meshDeadLetters(ctx),
    logs,
    topology: ({ signal }) => topology.read(signal ? { signal } : {}),
    close: () => topology.close(),
  };
}
