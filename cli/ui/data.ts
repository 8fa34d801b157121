/**
 * What `fnmesh ui` shows, read from a stage through the readers `fnmesh status` and `fnmesh trace`
 * use: read-only, nothing here writes to the mesh. The server (server.ts) takes a {@link UiData};
 * tests give it a fake one.
 */
import type { OnceRecord, WaitGroupRecord } from '../../lib/table/reader.ts';
import type { MeshContext } from '../context.ts';
import { type ChannelRow, type GroupRow, type LockRow, readStatus } from '../commands/status.ts';
import { readTrace, type TraceDocument } from '../commands/trace.ts';
import type { StrictStatus } from '../../infra/localstack/localstack.ts';
import { listTraces, type TraceSummary } from './traces.ts';

/** `GET /api/status` and each `status` event: the mesh at one moment. */
export interface UiStatus {
  stage: string;
  tableName: string;
  /** When the server read it (epoch ms, the server's clock): lease countdowns start from here. */
  readAt: number;
  channels: ChannelRow[];
  /** In all of the stack's dead-letter queues, each counted once (SQS's approximate counts). */
  deadLetters: number;
  locks: LockRow[];
  groups: GroupRow[];
  waitGroups: WaitGroupRecord[];
  onceKeys: OnceRecord[];
  strict: StrictStatus | null;
}

/** The read-only views the UI's API serves. */
export interface UiData {
  stage: string;
  tableName: string;
  status(options: { signal?: AbortSignal }): Promise<UiStatus>;
  traces(options: { limit: number; signal?: AbortSignal }): Promise<TraceSummary[]>;
  /** @throws MeshConfigError if no hops were recorded under `traceId` */
  trace(traceId: string, options: { signal?: AbortSignal }): Promise<TraceDocument>;
}

/** The UI's views of a stage, through its clients and names. */
export function meshUiData(ctx: MeshContext): UiData {
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
    trace: (traceId, { signal }) => readTrace(ctx, traceId, signal ? { signal } : {}),
  };
}
