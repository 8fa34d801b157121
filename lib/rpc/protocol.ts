/**
 * The RPC wire format, version 1 (docs/primitives/rpc.md): what an RPC client sends as the event
 * of a synchronous Lambda invocation, and what an RPC server returns as the function's normal
 * response — so a caller or a server in any language can take part.
 *
 *   request   {"fnmesh":"rpc","v":1,"method":"Quoter.Multiply","args":{"A":6,"B":7},"deadline":1764115203000,"traceId":"…"}
 *   success   {"ok":true,"result":42}
 *   failure   {"ok":false,"error":{"name":"InvalidArgumentsError","message":"…","retryable":false,"issues":[{"path":"B","message":"…"}]}}
 *
 * A method's error travels in the function's normal response; Lambda's `FunctionError` is kept for
 * the function itself failing (crash, exit, timeout). The response's format is the one of the
 * request's version. Unknown extra fields are ignored in both directions, so later minor
 * additions stay readable; a request of a newer major version is refused.
 *
 * Everything here is pure: no I/O, no clock.
 */
import { InvalidInputError, MalformedRequestError, PayloadTooLargeError, RpcMalformedResponseError } from '../errors.ts';
import type { Issue } from '../schema.ts';
import { type TraceContext, traceContextOf } from '../channel/envelope.ts';

export const RPC_VERSION = 1;

/** AWS's limit for a synchronous (RequestResponse) invocation's request and response: 6 MB. */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6_291_456;

const MAX_METHOD_LENGTH = 256;
const MAX_TRACE_ID_LENGTH = 128;
/** Longest error message a server sends; longer ones are cut (an error must never outgrow the response). */
export const MAX_ERROR_MESSAGE_LENGTH = 8192;
/** Most issues a server sends; the first ones are kept. */
export const MAX_ISSUES = 100;

/** `Service.Method`, each part an identifier (Go: `Quoter.Multiply`). */
const METHOD_NAME = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;

/** The names of the errors a server itself answers with (a method's own errors keep their names). */
export const RPC_ERROR_NAMES = {
  /** The event is not an RPC request of a version this server understands. */
  malformedRequest: 'MalformedRequestError',
  /** No method of that name is registered. */
  unknownMethod: 'UnknownMethodError',
  /** The arguments fail the method's schema; `issues` says where. */
  invalidArguments: 'InvalidArgumentsError',
  /** The deadline passed before the method ran, or while it ran and it gave up. */
  deadlineExceeded: 'DeadlineExceededError',
  /** The method's result is not JSON (a BigInt, a cycle, a function). */
  resultNotSerializable: 'ResultNotSerializableError',
  /** The method's result is over the synchronous response limit. */
  resultTooLarge: 'ResultTooLargeError',
} as const;

/** An RPC request, exactly as it travels (the event of the invocation). */
export interface RpcRequest {
  fnmesh: 'rpc';
  v: 1;
  /** `Service.Method`. */
  method: string;
  /** The arguments, any JSON value (`null` for none). */
  args: unknown;
  /** Epoch milliseconds (the caller's clock) after which the caller no longer waits for the answer. */
  deadline?: number;
  /** The run this call belongs to, for logs and traces. */
  traceId?: string;
}

/** The error of a failed call, as it travels. */
export interface RpcErrorBody {
  /** The error's name, e.g. `UnknownMethodError` or a method's own `QuoteUnavailableError`. */
  name: string;
  message: string;
  /** Whether the same call may succeed if made again (a method sets `retryable = true` on its error). */
  retryable: boolean;
  /** Where the arguments (or the request) are wrong: `InvalidArgumentsError`, `MalformedRequestError`. */
  issues?: Issue[];
}

/** An RPC response, exactly as it travels (the function's normal response). */
export type RpcResponse<R = unknown> = { ok: true; result: R } | { ok: false; error: RpcErrorBody };

/** Whether `name` is a valid method name: `Service.Method`, each part an identifier. */
export function isMethodName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_METHOD_LENGTH && METHOD_NAME.test(name);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkMethod(value: unknown): string {
  if (typeof value !== 'string') throw new MalformedRequestError('method', 'expected a string');
  if (!isMethodName(value)) throw new MalformedRequestError('method', 'expected Service.Method, each part an identifier');
  return value;
}

function checkDeadline(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new MalformedRequestError('deadline', 'expected epoch milliseconds (a positive number)');
  }
  return value;
}

function checkTraceId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new MalformedRequestError('traceId', 'expected a non-empty string');
  if (value.length > MAX_TRACE_ID_LENGTH) throw new MalformedRequestError('traceId', `longer than ${MAX_TRACE_ID_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new MalformedRequestError('traceId', 'contains control characters');
  return value;
}

/**
 * A request for `method` with `args` (`undefined` travels as `null`).
 * @throws MalformedRequestError if the method name, deadline or trace id is not valid
 */
export function buildRequest(method: string, args: unknown, options: { deadline?: number; traceId?: string } = {}): RpcRequest {
  const request: RpcRequest = { fnmesh: 'rpc', v: RPC_VERSION, method: checkMethod(method), args: args === undefined ? null : args };
  if (options.deadline !== undefined) request.deadline = checkDeadline(options.deadline);
  if (options.traceId !== undefined) request.traceId = checkTraceId(options.traceId);
  return request;
}

/**
 * The JSON text of a request, refused before any call if it is not JSON or too large.
 * @throws InvalidInputError (path `args`) if the arguments are not serializable as JSON,
 *   PayloadTooLargeError if the text is over `limit` bytes
 */
export function encodeRequest(request: RpcRequest, limit = SYNC_PAYLOAD_LIMIT_BYTES): string {
  let text: string | undefined;
  try {
    text = strictJson(request);
  } catch (err) {
    throw new InvalidInputError('args', `not serializable as JSON (${(err as Error).message})`, { cause: err });
  }
  if (text === undefined) throw new InvalidInputError('args', 'not serializable as JSON');
  const bytes = Buffer.byteLength(text);
  if (bytes > limit) throw new PayloadTooLargeError(`the RPC request for ${request.method}`, bytes, limit);
  return text;
}

/**
 * JSON.stringify, refusing what JSON cannot carry instead of changing it silently: a function or
 * a symbol (dropped, or `null` in an array) and a number that is not finite (`null`).
 * @throws TypeError naming the value and its key; what JSON.stringify throws (a BigInt, a cycle)
 */
export function strictJson(value: unknown): string | undefined {
  return JSON.stringify(value, (key: string, part: unknown) => {
    if (typeof part === 'function' || typeof part === 'symbol') throw new TypeError(`a ${typeof part} at ${JSON.stringify(key)}`);
    if (typeof part === 'number' && !Number.isFinite(part)) throw new TypeError(`${part} at ${JSON.stringify(key)} is not a JSON number`);
    return part;
  });
}

/**
 * Validates an invocation event as an RPC request. Never throws anything but
 * MalformedRequestError, whatever the event.
 * @throws MalformedRequestError saying where and what is wrong
 */
export function parseRequest(event: unknown): RpcRequest {
  if (!isObject(event)) throw new MalformedRequestError('(event)', 'expected a JSON object');
  if (event.fnmesh !== 'rpc') throw new MalformedRequestError('fnmesh', 'expected "rpc": this is not an fnmesh RPC request');
  const v = event.v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new MalformedRequestError('v', 'expected a positive integer version');
  if (v > RPC_VERSION) throw new MalformedRequestError('v', `version ${v} is newer than this server understands (${RPC_VERSION})`);
  const method = checkMethod(event.method);
  if (!('args' in event)) throw new MalformedRequestError('args', 'missing (send null for no arguments)');
  const request: RpcRequest = { fnmesh: 'rpc', v: RPC_VERSION, method, args: event.args };
  if (event.deadline !== undefined && event.deadline !== null) request.deadline = checkDeadline(event.deadline);
  if (event.traceId !== undefined && event.traceId !== null) request.traceId = checkTraceId(event.traceId);
  return request;
}

/**
 * The trace an RPC request belongs to: its `traceId`, as the root of the callee's hops (a request
 * names no parent hop); undefined if `event` is not an RPC request carrying one. Never throws.
 */
export function traceOfRequest(event: unknown): TraceContext | undefined {
  if (!isObject(event) || event.fnmesh !== 'rpc') return undefined;
  return traceContextOf({ traceId: event.traceId });
}

/** A success response. */
export function okResponse<R>(result: R): RpcResponse<R> {
  return { ok: true, result };
}

/** An error response (the message cut to MAX_ERROR_MESSAGE_LENGTH, the issues to MAX_ISSUES). */
export function errorResponse(error: RpcErrorBody): RpcResponse<never> {
  const body: RpcErrorBody = { name: error.name, message: truncate(error.message), retryable: error.retryable };
  if (error.issues !== undefined)
    body.issues = error.issues.slice(0, MAX_ISSUES).map(({ path, message }) => ({ path, message: truncate(message) }));
  return { ok: false, error: body };
}

function truncate(message: string): string {
  return message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : message;
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * The error body for anything a method threw: its `name` and `message`, and `retryable` only if
 * the error has a `retryable` property that is exactly `true`. A thrown non-Error is named `Error`.
 */
export function errorBodyOf(err: unknown): RpcErrorBody {
  if (err instanceof Error || (isObject(err) && typeof err.message === 'string')) {
    const { name, message, retryable } = err as { name?: unknown; message?: unknown; retryable?: unknown };
    return {
      name: typeof name === 'string' && name.length > 0 ? name : 'Error',
      message: typeof message === 'string' ? message : describe(message),
      retryable: retryable === true,
    };
  }
  return { name: 'Error', message: describe(err), retryable: false };
}

function checkIssues(value: unknown, method: string): Issue[] {
  if (!Array.isArray(value)) throw new RpcMalformedResponseError(method, 'error.issues', 'expected an array');
  return value.map((issue: unknown, index) => {
    if (!isObject(issue) || typeof issue.path !== 'string' || typeof issue.message !== 'string') {
      throw new RpcMalformedResponseError(method, `error.issues.${index}`, 'expected { path: string, message: string }');
    }
    return { path: issue.path, message: issue.message };
  });
}

/**
 * Validates a function's (already parsed) response to a call of `method`. Never throws anything
 * but RpcMalformedResponseError, whatever the payload.
 * @throws RpcMalformedResponseError saying where and what is wrong
 */
export function parseResponse(payload: unknown, method: string): RpcResponse {
  if (!isObject(payload)) throw new RpcMalformedResponseError(method, '(response)', 'expected a JSON object');
  if (payload.ok === true) {
    if (!('result' in payload)) throw new RpcMalformedResponseError(method, 'result', 'missing');
    return { ok: true, result: payload.result };
  }
  if (payload.ok !== false) throw new RpcMalformedResponseError(method, 'ok', 'expected true or false: this is not an fnmesh RPC response');
  const error = payload.error;
  if (!isObject(error)) throw new RpcMalformedResponseError(method, 'error', 'expected an object');
  if (typeof error.name !== 'string' || error.name.length === 0)
    throw new RpcMalformedResponseError(method, 'error.name', 'expected a non-empty string');
  if (typeof error.message !== 'string') throw new RpcMalformedResponseError(method, 'error.message', 'expected a string');
  if (typeof error.retryable !== 'boolean') throw new RpcMalformedResponseError(method, 'error.retryable', 'expected a boolean');
  const body: RpcErrorBody = { name: error.name, message: error.message, retryable: error.retryable };
  if (error.issues !== undefined && error.issues !== null) body.issues = checkIssues(error.issues, method);
  return { ok: false, error: body };
}

/**
 * Parses the text of a function's response to a call of `method` (see parseResponse).
 * @throws RpcMalformedResponseError if it is not JSON or not an RPC response
 */
export function decodeResponse(text: string, method: string): RpcResponse {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    throw new RpcMalformedResponseError(method, '(response)', 'not JSON', { cause: err });
  }
  return parseResponse(payload, method);
}
