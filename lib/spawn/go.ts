/**
 * go: Go's `go f(x)` as an asynchronous Lambda invocation, and the task envelope that lets a
 * worker report back to a Group or WaitGroup.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { type TraceContext, traceContextOf } from '../channel/envelope.ts';
import { InvalidInputError, MeshConfigError, MeshError, PayloadTooLargeError } from '../errors.ts';
import { abortable, callOptions } from '../internal/time.ts';

/** AWS's limit for an asynchronous invocation's payload (1 MB since 2025; it was 256 KB). */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 1_048_576;

export interface GoOptions {
  signal?: AbortSignal;
  /** The trace the started task belongs to (carried in its task envelope). */
  trace?: TraceContext;
  /** Refuse payloads larger than this before any call. @default ASYNC_PAYLOAD_LIMIT_BYTES */
  maxPayloadBytes?: number;
}

/** The options of `Group.go` and `WaitGroup.go`: the task's id and deadline, besides go()'s own. */
export interface TaskGoOptions extends GoOptions {
  /** The task's id, unique in its group or wait group. @default a random UUID */
  taskId?: string;
  /** This task's deadline, ms after `go`. @default the group's or wait group's `taskTimeoutMs` */
  taskTimeoutMs?: number;
}

/** Where a worker reports its outcome: a Group task or a WaitGroup member. */
export interface TaskRef {
  kind: 'group' | 'waitgroup';
  tableName: string;
  /** The group id, or the wait group's name. */
  name: string;
  taskId: string;
  functionName: string;
  /**
   * The group's or wait group's shard count (absent: 1, unsharded). The task's items are on shard
   * `murmur3(taskId) mod shards` (lib/spawn/shards.ts), so a worker finds them with no read.
   */
  shards?: number;
}

/** The event a tracked worker receives: its payload, and where to report (docs/item-format.md). */
export interface TaskEnvelope<T = unknown> {
  /** `v` is 2 when the task names a sharded group (`task.shards` > 1), 1 otherwise. */
  fnmesh: { v: 1 | 2; task: TaskRef; trace?: TraceContext };
  payload: T;
}

export function isTaskEnvelope(event: unknown): event is TaskEnvelope {
  const task = (event as TaskEnvelope | null)?.fnmesh?.task;
  return typeof task === 'object' && task !== null && typeof task.taskId === 'string' && typeof task.name === 'string';
}

/** The trace a task envelope carries (`fnmesh.trace`); undefined if `event` carries none. Never throws. */
export function traceOfTask(event: unknown): TraceContext | undefined {
  return traceContextOf((event as TaskEnvelope | null | undefined)?.fnmesh?.trace);
}

/** JSON text of a payload, refused (typed) if it cannot be serialized or is too large. */
export function serializePayload(payload: unknown, limit: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    throw new InvalidInputError('payload', `not serializable as JSON (${(err as Error).message})`, { cause: err });
  }
  if (text === undefined) throw new InvalidInputError('payload', 'not serializable as JSON (undefined or a function)');
  const bytes = Buffer.byteLength(text);
  if (bytes > limit) throw new PayloadTooLargeError('the asynchronous invocation payload', bytes, limit);
  return text;
}

/** The Lambda service refused to queue an asynchronous invocation. */
export class InvokeRefusedError extends MeshError {
  override name = 'InvokeRefusedError';
  readonly functionName: string;
  readonly statusCode: number | undefined;

  constructor(functionName: string, statusCode: number | undefined, detail: string) {
    super(`asynchronous invoke of ${functionName} was refused (status ${statusCode}): ${detail}`);
    this.functionName = functionName;
    this.statusCode = statusCode;
  }
}

/**
 * Starts `functionName` with `payload` and returns without waiting: an asynchronous (`Event`)
 * invocation. Go: `go f(payload)`. Cost: 1 Invoke.
 *
 * Differences from Go: the worker runs in another process; nothing comes back (use a Channel, a
 * Group or a WaitGroup to learn it ran); Lambda retries a failed asynchronous invocation twice
 * and may deliver one more than once, so workers should be idempotent.
 * @throws PayloadTooLargeError or InvalidInputError before any call, InvokeRefusedError
 */
export async function go(client: LambdaClient, functionName: string, payload: unknown, options: GoOptions = {}): Promise<void> {
  if (!client) throw new MeshConfigError('go needs a Lambda client');
  if (!functionName) throw new MeshConfigError('go needs a function name');
  await invokeAsync(client, functionName, serializePayload(payload, options.maxPayloadBytes ?? ASYNC_PAYLOAD_LIMIT_BYTES), options.signal);
}

/** The asynchronous Invoke itself, for an already serialized and checked payload. */
export async function invokeAsync(client: LambdaClient, functionName: string, body: string, signal?: AbortSignal): Promise<void> {
  const response = await abortable(signal, () =>
    client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(body) }),
      callOptions(signal),
    ),
  );
  if (response.StatusCode !== 202) throw new InvokeRefusedError(functionName, response.StatusCode, 'expected 202 Accepted');
}

/** Wraps a payload in the envelope a tracked worker's `taskCompletion` middleware understands. */
export function envelope<T>(task: TaskRef, payload: T, trace?: TraceContext): TaskEnvelope<T> {
  const sharded = (task.shards ?? 1) > 1;
  const { shards: _shards, ...unsharded } = task;
  return { fnmesh: { v: sharded ? 2 : 1, task: sharded ? task : unsharded, ...(trace ? { trace } : {}) }, payload };
}
