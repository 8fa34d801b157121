/**
 * RpcServer: Go's `net/rpc` server (`rpc.Register(&Quoter{})`, `rpc.ServeConn`) as a Lambda
 * handler. Each method is `Service.Method`, with a Standard Schema for its arguments; the handler
 * answers every invocation with an RPC response (protocol.ts) — a method's error, an unknown
 * method or a malformed event included — and never crashes on a bad request.
 */
import { DeadlineExceededError, MalformedRequestError, MeshConfigError } from '../errors.ts';
import { check, describeIssues, type Schema } from '../schema.ts';
import {
  errorBodyOf,
  errorResponse,
  isMethodName,
  okResponse,
  strictJson,
  parseRequest,
  RPC_ERROR_NAMES,
  type RpcRequest,
  type RpcResponse,
  SYNC_PAYLOAD_LIMIT_BYTES,
} from './protocol.ts';

/** The part of the Lambda context the server uses (the real `Context` has it). */
export interface LambdaContextLike {
  /** Milliseconds left before Lambda stops the invocation. */
  getRemainingTimeInMillis(): number;
}

/** What a method receives besides its arguments. */
export interface RpcContext {
  /** `Service.Method`, as called. */
  readonly method: string;
  /**
   * Aborts, with a DeadlineExceededError as its reason, at the call's deadline or `timeoutMarginMs`
   * before the function would time out, whichever is first: pass it on to your own calls.
   */
  readonly signal: AbortSignal;
  /** When `signal` aborts (epoch ms), or undefined if neither a deadline nor the remaining time is known. */
  readonly deadline: number | undefined;
  /** The caller's trace id, if it sent one. */
  readonly traceId: string | undefined;
  /** The Lambda context the handler received, if any. */
  readonly lambdaContext: LambdaContextLike | undefined;
}

/** One method: the schema its arguments must pass, and what it does with them. */
export interface MethodDefinition<A = unknown, R = unknown> {
  readonly args: Schema<A>;
  readonly handler: (args: A, ctx: RpcContext) => R | Promise<R>;
}

/** Methods by name (`Service.Method`); `A` maps each name to its arguments' type. */
export type MethodMap<A = Record<string, unknown>> = { [K in keyof A]: MethodDefinition<A[K], unknown> };

/** The arguments' type of a method definition (for a typed client: `client.method<ArgsOf<typeof m>, ResultOf<typeof m>>`). */
export type ArgsOf<D> = D extends MethodDefinition<infer A, unknown> ? A : never;

/** The result's type of a method definition, as the caller receives it. */
export type ResultOf<D> = D extends { handler: (...args: never[]) => infer R } ? Awaited<R> : never;

/**
 * A method definition, with the handler's argument type inferred from the schema.
 * Go: a method `func (t *T) Multiply(args *Args, reply *int) error`.
 */
export function defineMethod<A, R>(args: Schema<A>, handler: (args: A, ctx: RpcContext) => R | Promise<R>): MethodDefinition<A, R> {
  return { args, handler };
}

export interface RpcServerOptions {
  /**
   * How long before the function's timeout `ctx.signal` aborts, so that the method can stop and
   * the server can still answer (with DeadlineExceededError) before Lambda ends the invocation.
   * @default 500
   */
  timeoutMarginMs?: number;
  /** Refuse (ResultTooLargeError) responses larger than this. @default SYNC_PAYLOAD_LIMIT_BYTES (6 MB) */
  maxResponseBytes?: number;
  /**
   * Called with every error a method throws. The invocation itself succeeds (the error travels in
   * the response), so Lambda's error metrics do not see it: log it here. Errors it throws are ignored.
   */
  onError?: (error: unknown, call: { method: string; traceId: string | undefined }) => void;
  /** The clock (epoch ms). @default Date.now */
  now?: () => number;
}

function deadlineExceeded(message: string): RpcResponse<never> {
  return errorResponse({ name: RPC_ERROR_NAMES.deadlineExceeded, message, retryable: false });
}

/**
 * A set of methods served by one Lambda function. Go: `rpc.NewServer()` + `server.Register(rcvr)`.
 *
 * Differences from Go: methods are registered by name with a schema (no reflection over a
 * receiver's exported methods); arguments are validated at run time; there is no connection —
 * each call is one invocation; a method returns its result instead of filling a reply pointer.
 *
 * `server.handler` is a plain async Lambda handler: export it directly, or wrap it in middy.
 */
export class RpcServer<A extends Record<string, unknown> = Record<string, unknown>> {
  /** The methods, by name. */
  readonly methods: Readonly<MethodMap<A>>;
  /** The Lambda handler: `(event, context) => response`. Never rejects. */
  readonly handler: (event: unknown, context?: LambdaContextLike) => Promise<RpcResponse>;
  private readonly table: ReadonlyMap<string, MethodDefinition<unknown, unknown>>;
  private readonly marginMs: number;
  private readonly maxResponseBytes: number;
  private readonly onError: RpcServerOptions['onError'];
  private readonly now: () => number;

  /** @throws MeshConfigError for a name that is not `Service.Method`, a definition without a schema or handler, or no methods */
  constructor(methods: MethodMap<A>, options: RpcServerOptions = {}) {
    if (methods === null || typeof methods !== 'object') throw new MeshConfigError('RpcServer needs a map of methods');
    const table = new Map<string, MethodDefinition<unknown, unknown>>();
    for (const [name, definition] of Object.entries(methods as Record<string, MethodDefinition<unknown, unknown>>)) {
      if (!isMethodName(name)) throw new MeshConfigError(`RpcServer: method name ${JSON.stringify(name)} is not Service.Method`);
      if (typeof definition?.args?.['~standard']?.validate !== 'function') {
        throw new MeshConfigError(`RpcServer: method ${name} needs an args schema (a Standard Schema, e.g. zod)`);
      }
      if (typeof definition.handler !== 'function') throw new MeshConfigError(`RpcServer: method ${name} needs a handler function`);
      table.set(name, definition);
    }
    if (table.size === 0) throw new MeshConfigError('RpcServer needs at least one method');
    const { timeoutMarginMs = 500, maxResponseBytes = SYNC_PAYLOAD_LIMIT_BYTES } = options;
    if (!Number.isFinite(timeoutMarginMs) || timeoutMarginMs < 0) {
      throw new MeshConfigError(`timeoutMarginMs must be a non-negative number, got ${timeoutMarginMs}`);
    }
    if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) {
      throw new MeshConfigError(`maxResponseBytes must be a positive integer, got ${maxResponseBytes}`);
    }
    this.methods = methods;
    this.table = table;
    this.marginMs = timeoutMarginMs;
    this.maxResponseBytes = maxResponseBytes;
    this.onError = options.onError;
    this.now = options.now ?? Date.now;
    this.handler = (event, context) => this.dispatch(event, context);
  }

  /**
   * Answers one invocation: parses the request, finds the method, refuses a passed deadline,
   * validates the arguments, runs the method with its `ctx.signal`, and checks the result is JSON.
   * Never rejects: every failure is an error response (see docs/primitives/rpc.md for the names).
   * Cost: no AWS calls of its own.
   */
  async dispatch(event: unknown, context?: LambdaContextLike): Promise<RpcResponse> {
    let request: RpcRequest;
    try {
      request = parseRequest(event);
    } catch (err) {
      const path = err instanceof MalformedRequestError ? err.path : '(event)';
      const message = err instanceof Error ? err.message : 'malformed RPC request';
      return errorResponse({ name: RPC_ERROR_NAMES.malformedRequest, message, retryable: false, issues: [{ path, message }] });
    }
    try {
      return await this.serve(request, context);
    } catch (err) {
      // Only a bug in a schema or in the server gets here: still an answer, not a crash.
      this.report(err, request);
      return errorResponse(errorBodyOf(err));
    }
  }

  private async serve(request: RpcRequest, context: LambdaContextLike | undefined): Promise<RpcResponse> {
    const { method, traceId } = request;
    const definition = this.table.get(method);
    if (!definition)
      return errorResponse({ name: RPC_ERROR_NAMES.unknownMethod, message: `rpc: can't find method ${method}`, retryable: false });

    const now = this.now();
    if (request.deadline !== undefined && request.deadline <= now) {
      return deadlineExceeded(`the call's deadline passed ${Math.round(now - request.deadline)} ms before it could start`);
    }
    const remaining = remainingMs(context);
    const functionDeadline = remaining === undefined ? undefined : now + remaining - this.marginMs;
    if (functionDeadline !== undefined && functionDeadline <= now) {
      return deadlineExceeded(`the function has ${remaining} ms left, within the ${this.marginMs} ms margin`);
    }

    const checked = await check(definition.args, request.args);
    if (!checked.ok) {
      return errorResponse({
        name: RPC_ERROR_NAMES.invalidArguments,
        message: `invalid arguments: ${describeIssues(checked.issues)}`,
        retryable: false,
        issues: checked.issues,
      });
    }

    const deadline = earliest(request.deadline, functionDeadline);
    const controller = new AbortController();
    const timer =
      deadline === undefined || deadline - now > MAX_TIMER_MS
        ? undefined
        : setTimeout(
            () =>
              controller.abort(
                new DeadlineExceededError(
                  deadline === request.deadline ? `the call's deadline passed` : `the function times out in ${this.marginMs} ms`,
                ),
              ),
            Math.max(0, deadline - this.now()),
          );
    const ctx: RpcContext = { method, signal: controller.signal, deadline, traceId, lambdaContext: context };
    let result: unknown;
    try {
      result = await definition.handler(checked.value, ctx);
    } catch (err) {
      this.report(err, request);
      if (controller.signal.aborted) {
        return deadlineExceeded(`${(controller.signal.reason as Error).message} (the method stopped: ${errorBodyOf(err).message})`);
      }
      return errorResponse(errorBodyOf(err));
    } finally {
      clearTimeout(timer);
    }
    return this.encodeResult(result);
  }

  /** The success response, normalized to what the caller will see, or an error if it cannot travel. */
  private encodeResult(result: unknown): RpcResponse {
    let text: string | undefined;
    try {
      text = strictJson(result === undefined ? null : result);
    } catch (err) {
      return errorResponse({
        name: RPC_ERROR_NAMES.resultNotSerializable,
        message: `the result is not serializable as JSON (${errorBodyOf(err).message})`,
        retryable: false,
      });
    }
    if (text === undefined) {
      return errorResponse({
        name: RPC_ERROR_NAMES.resultNotSerializable,
        message: `the result is not serializable as JSON (a ${typeof result})`,
        retryable: false,
      });
    }
    const bytes = Buffer.byteLength(text) + '{"ok":true,"result":}'.length;
    if (bytes > this.maxResponseBytes) {
      return errorResponse({
        name: RPC_ERROR_NAMES.resultTooLarge,
        message: `the response is ${bytes} bytes, over the ${this.maxResponseBytes}-byte limit`,
        retryable: false,
      });
    }
    return okResponse(JSON.parse(text) as unknown);
  }

  private report(error: unknown, request: RpcRequest): void {
    try {
      this.onError?.(error, { method: request.method, traceId: request.traceId });
    } catch {
      // A failing logger must not change the answer.
    }
  }
}

/** setTimeout's longest delay (about 24.8 days); a later deadline cannot come within an invocation. */
const MAX_TIMER_MS = 2_147_483_647;

function remainingMs(context: LambdaContextLike | undefined): number | undefined {
  if (typeof context?.getRemainingTimeInMillis !== 'function') return undefined;
  const remaining = context.getRemainingTimeInMillis();
  return Number.isFinite(remaining) ? remaining : undefined;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * The Lambda handler of a server with these methods: `export const handler = rpcHandler({...})`.
 * Go: `rpc.Register(rcvr); rpc.ServeConn(conn)`. Cost: no AWS calls of its own.
 * @throws MeshConfigError as `new RpcServer` does
 */
export function rpcHandler<A extends Record<string, unknown>>(
  methods: MethodMap<A>,
  options: RpcServerOptions = {},
): (event: unknown, context?: LambdaContextLike) => Promise<RpcResponse> {
  return new RpcServer(methods, options).handler;
}
