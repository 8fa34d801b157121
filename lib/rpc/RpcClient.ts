/**
 * RpcClient: Go's `net/rpc` client (`client.Call("Quoter.Multiply", args, &reply)`) as one
 * synchronous (RequestResponse) Lambda invocation per call, speaking protocol.ts.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  MeshConfigError,
  RpcFunctionError,
  RpcInvalidArgumentsError,
  RpcMalformedResponseError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcTransportError,
  RpcUnknownMethodError,
} from '../errors.ts';
import { abortError, throwIfAborted } from '../internal/time.ts';
import {
  buildRequest,
  decodeResponse,
  encodeRequest,
  isMethodName,
  RPC_ERROR_NAMES,
  type RpcErrorBody,
  SYNC_PAYLOAD_LIMIT_BYTES,
} from './protocol.ts';

/** setTimeout's longest delay: a longer timeoutMs would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface RpcClientOptions {
  /** The Lambda client to use (the library never creates one). Its retry settings apply to each call. */
  lambda: LambdaClient;
  /** The server function: name, ARN or partial ARN. */
  functionName: string;
  /** A version or alias of the function. @default $LATEST (unqualified) */
  qualifier?: string;
  /** Refuse requests larger than this before any call. @default SYNC_PAYLOAD_LIMIT_BYTES (6 MB) */
  maxPayloadBytes?: number;
  /** The clock the deadline is computed with (epoch ms). @default Date.now */
  now?: () => number;
}

export interface CallOptions {
  /** Aborts the call; rejects with MeshAbortError (the invocation itself may still run to its end). */
  signal?: AbortSignal;
  /**
   * Give up after this many ms with RpcTimeoutError. The deadline `now + timeoutMs` travels in the
   * request, so the server refuses the call if it arrives late and aborts the method's `ctx.signal`
   * when it passes.
   */
  timeoutMs?: number;
  /** A trace id to send along (≤ 128 characters, no control characters). */
  traceId?: string;
}

/** A typed remote method: `(args, options?) => result`. */
export type RemoteMethod<A, R> = (args: A, options?: CallOptions) => Promise<R>;

/**
 * A client for the methods one Lambda function serves (see RpcServer).
 * Go: `client, _ := rpc.Dial(...)`; there is no connection here, each call is one Invoke.
 */
export class RpcClient {
  readonly functionName: string;
  readonly qualifier: string | undefined;
  private readonly lambda: LambdaClient;
  private readonly maxPayloadBytes: number;
  private readonly now: () => number;

  /** @throws MeshConfigError without a Lambda client or function name, or with a bad maxPayloadBytes */
  constructor(options: RpcClientOptions) {
    if (!options?.lambda) throw new MeshConfigError('RpcClient needs a Lambda client');
    if (!options.functionName) throw new MeshConfigError('RpcClient needs a function name');
    const { maxPayloadBytes = SYNC_PAYLOAD_LIMIT_BYTES } = options;
    if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes <= 0) {
      throw new MeshConfigError(`maxPayloadBytes must be a positive integer, got ${maxPayloadBytes}`);
    }
    this.lambda = options.lambda;
    this.functionName = options.functionName;
    this.qualifier = options.qualifier;
    this.maxPayloadBytes = maxPayloadBytes;
    this.now = options.now ?? Date.now;
  }

  /**
   * Calls `method` with `args` and waits for its result. Go: `client.Call("Quoter.Multiply", args, &reply)`.
   * Cost: 1 Invoke (RequestResponse); nothing is retried by fnmesh (the SDK client's own retry
   * strategy may repeat a call that failed in transport).
   *
   * The result is typed as `R` but not validated: validate it yourself if the server is not trusted.
   * @throws MalformedRequestError (a bad method name or trace id), InvalidInputError (args not JSON),
   *   PayloadTooLargeError — all before any call; MeshConfigError for a bad timeoutMs;
   *   RpcRemoteError (the method failed; `remoteName`, `retryable`), RpcUnknownMethodError,
   *   RpcInvalidArgumentsError (`issues`), RpcFunctionError (the function crashed, exited or
   *   timed out), RpcTransportError (the invocation failed: no such function, throttled, network),
   *   RpcTimeoutError (`timeoutMs` passed), RpcMalformedResponseError (not an RPC server),
   *   MeshAbortError (`signal` aborted)
   */
  async call<R = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<R> {
    const { signal, timeoutMs, traceId } = options;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS)) {
      throw new MeshConfigError(`timeoutMs must be a positive number of ms up to ${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
    }
    const deadline = timeoutMs === undefined ? undefined : this.now() + timeoutMs;
    const request = buildRequest(method, args, {
      ...(deadline === undefined ? {} : { deadline }),
      ...(traceId === undefined ? {} : { traceId }),
    });
    const body = encodeRequest(request, this.maxPayloadBytes);
    throwIfAborted(signal);

    const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(Math.ceil(timeoutMs));
    const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const abortSignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    let response: InvokeCommandOutput;
    try {
      response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          ...(this.qualifier === undefined ? {} : { Qualifier: this.qualifier }),
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(body),
        }),
        abortSignal ? { abortSignal } : {},
      );
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      if (timeout?.aborted) throw new RpcTimeoutError(method, timeoutMs!, { cause: err });
      const { name, message } = err instanceof Error ? err : { name: 'Error', message: String(err) };
      throw new RpcTransportError(method, `${method}: the invocation of ${this.functionName} failed: ${name}: ${message}`, { cause: err });
    }
    return outcomeOf(method, response) as R;
  }

  /**
   * A typed function for one method: `const multiply = client.method<Args, number>('Quoter.Multiply')`.
   * Cost: none; each call of the returned function is one `call`.
   * @throws MeshConfigError if the name is not `Service.Method`
   */
  method<A, R>(name: string): RemoteMethod<A, R> {
    if (!isMethodName(name)) throw new MeshConfigError(`method name ${JSON.stringify(name)} is not Service.Method`);
    return (args, options) => this.call<R>(name, args, options);
  }
}

/** The result of a call, from the Invoke response, or the typed error it stands for. */
export function outcomeOf(method: string, response: InvokeCommandOutput): unknown {
  const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
  if (response.FunctionError) {
    const { errorType, errorMessage } = functionErrorOf(text);
    throw new RpcFunctionError(method, errorType ?? response.FunctionError, errorMessage ?? text);
  }
  if (response.StatusCode !== undefined && response.StatusCode !== 200) {
    throw new RpcTransportError(method, `${method}: the invocation answered with status ${response.StatusCode}, expected 200`);
  }
  if (text === '') throw new RpcMalformedResponseError(method, '(response)', 'empty: this is not an fnmesh RPC server');
  const answer = decodeResponse(text, method);
  if (answer.ok) return answer.result;
  throw remoteError(method, answer.error);
}

function functionErrorOf(text: string): { errorType?: string; errorMessage?: string } {
  try {
    const payload: unknown = JSON.parse(text);
    if (payload === null || typeof payload !== 'object') return {};
    const { errorType, errorMessage } = payload as { errorType?: unknown; errorMessage?: unknown };
    return {
      ...(typeof errorType === 'string' && errorType ? { errorType } : {}),
      ...(typeof errorMessage === 'string' ? { errorMessage } : {}),
    };
  } catch {
    return {};
  }
}

/** The client-side error for an error response. */
export function remoteError(method: string, error: RpcErrorBody): RpcRemoteError {
  switch (error.name) {
    case RPC_ERROR_NAMES.unknownMethod:
      return new RpcUnknownMethodError(method, error.name, error.message, error.retryable);
    case RPC_ERROR_NAMES.invalidArguments:
      return new RpcInvalidArgumentsError(method, error.message, error.issues ?? []);
    default:
      return new RpcRemoteError(method, error.name, error.message, error.retryable);
  }
}
