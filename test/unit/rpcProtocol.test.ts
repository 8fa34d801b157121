/**
 * RPC wire format v1 (lib/rpc/protocol.ts), the server handler called directly with a fake Lambda
 * context, and the client's mapping of Invoke responses — no network.
 */
import type { InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  InvalidInputError,
  MalformedRequestError,
  MeshAbortError,
  MeshConfigError,
  PayloadTooLargeError,
  RpcFunctionError,
  RpcInvalidArgumentsError,
  RpcMalformedResponseError,
  RpcRemoteError,
  RpcUnknownMethodError,
} from '../../lib/errors.ts';
import { sleep } from '../../lib/internal/time.ts';
import {
  buildRequest,
  decodeResponse,
  encodeRequest,
  errorBodyOf,
  errorResponse,
  isMethodName,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ISSUES,
  parseRequest,
  parseResponse,
  RPC_ERROR_NAMES,
  type RpcResponse,
} from '../../lib/rpc/protocol.ts';
import { outcomeOf, RpcClient } from '../../lib/rpc/RpcClient.ts';
import { defineMethod, type RpcContext, RpcServer } from '../../lib/rpc/RpcServer.ts';

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const methodName = fc.tuple(identifier, identifier).map(([service, method]) => `${service}.${method}`);
const traceId = fc.stringMatching(/^[!-~]{1,128}$/);

/** Events that are often nearly valid requests, so the parser's later checks are reached too. */
const nearRequest = fc.record(
  {
    fnmesh: fc.oneof(fc.constant('rpc'), fc.jsonValue()),
    v: fc.oneof(fc.constant(1), fc.integer(), fc.double(), fc.jsonValue()),
    method: fc.oneof(methodName, fc.string(), fc.jsonValue()),
    args: fc.jsonValue(),
    deadline: fc.oneof(fc.integer({ min: 1 }), fc.double(), fc.jsonValue()),
    traceId: fc.oneof(traceId, fc.string(), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

describe('RPC request wire format v1', () => {
  it('builds the documented request, with null for no arguments', () => {
    const request = buildRequest('Quoter.Multiply', { A: 6, B: 7 }, { deadline: 1764115203000, traceId: 'trace-1' });
    const bare = buildRequest('Quoter.Crash', undefined);

    expect(JSON.parse(encodeRequest(request))).toEqual({
      fnmesh: 'rpc',
      v: 1,
      method: 'Quoter.Multiply',
      args: { A: 6, B: 7 },
      deadline: 1764115203000,
      traceId: 'trace-1',
    });
    expect(encodeRequest(bare)).toBe('{"fnmesh":"rpc","v":1,"method":"Quoter.Crash","args":null}');
  });

  it('parses back every request it builds, for any JSON arguments', () => {
    fc.assert(
      fc.property(
        methodName,
        fc.jsonValue(),
        fc.option(fc.integer({ min: 1 }), { nil: undefined }),
        fc.option(traceId, { nil: undefined }),
        (method, args, deadline, trace) => {
          const request = buildRequest(method, args, { ...(deadline ? { deadline } : {}), ...(trace ? { traceId: trace } : {}) });
          const wire = JSON.parse(encodeRequest(request));
          expect(parseRequest(wire)).toEqual(wire);
        },
      ),
    );
  });

  it('never fails on an arbitrary JSON event with anything but MalformedRequestError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearRequest), (event) => {
        try {
          const request = parseRequest(event);
          expect(isMethodName(request.method)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedRequestError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a string', 'Quoter.Multiply', '(event)'],
    ['an array', [], '(event)'],
    ['null', null, '(event)'],
    ['another event', { Records: [] }, 'fnmesh'],
    ['a newer version', { fnmesh: 'rpc', v: 2, method: 'Quoter.Multiply', args: null }, 'v'],
    ['version 0', { fnmesh: 'rpc', v: 0, method: 'Quoter.Multiply', args: null }, 'v'],
    ['a method without a service', { fnmesh: 'rpc', v: 1, method: 'Multiply', args: null }, 'method'],
    ['a method of three parts', { fnmesh: 'rpc', v: 1, method: 'a.Quoter.Multiply', args: null }, 'method'],
    ['a method that is not a string', { fnmesh: 'rpc', v: 1, method: 42, args: null }, 'method'],
    ['no args', { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply' }, 'args'],
    ['a negative deadline', { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: null, deadline: -1 }, 'deadline'],
    ['a deadline in words', { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: null, deadline: 'soon' }, 'deadline'],
    ['a trace id with a newline', { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: null, traceId: 'a\nb' }, 'traceId'],
    ['a trace id too long', { fnmesh: 'rpc', v: 1, method: 'Quoter.Multiply', args: null, traceId: 'x'.repeat(129) }, 'traceId'],
  ])('refuses %s, saying where', (_, event, path) => {
    expect(() => parseRequest(event)).toThrow(expect.objectContaining({ name: 'MalformedRequestError', path }));
  });

  it('refuses to build a request for a method name that is not Service.Method', () => {
    expect(() => buildRequest('Multiply', null)).toThrow(MalformedRequestError);
    expect(() => buildRequest('Quoter.Multiply', null, { deadline: Number.NaN })).toThrow(MalformedRequestError);
  });

  it('refuses arguments that are not JSON or too large, before any call', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    expect(() => encodeRequest(buildRequest('Quoter.Multiply', { A: 1n }))).toThrow(
      expect.objectContaining({ name: 'InvalidInputError', path: 'args' }),
    );
    expect(() => encodeRequest(buildRequest('Quoter.Multiply', cyclic))).toThrow(InvalidInputError);
    // What JSON would change silently: dropped (a function, a symbol) or turned into null (not finite).
    for (const args of [() => 1, Symbol('s'), { A: Number.NaN, B: 1 }, { A: 1, B: [Number.POSITIVE_INFINITY] }, { A: 1, f: () => 1 }])
      expect(() => encodeRequest(buildRequest('Quoter.Multiply', args))).toThrow(
        expect.objectContaining({ name: 'InvalidInputError', path: 'args' }),
      );
    expect(() => encodeRequest(buildRequest('Quoter.Multiply', 'x'.repeat(100)), 100)).toThrow(PayloadTooLargeError);
  });
});

describe('RPC response wire format v1', () => {
  it('parses a success and an error with issues', () => {
    const success = decodeResponse('{"ok":true,"result":42}', 'Quoter.Multiply');
    const failure = decodeResponse(
      '{"ok":false,"error":{"name":"InvalidArgumentsError","message":"B: required","retryable":false,"issues":[{"path":"B","message":"required"}]}}',
      'Quoter.Multiply',
    );

    expect(success).toEqual({ ok: true, result: 42 });
    expect(failure).toEqual({
      ok: false,
      error: { name: 'InvalidArgumentsError', message: 'B: required', retryable: false, issues: [{ path: 'B', message: 'required' }] },
    });
  });

  it('parses back every response a server builds', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((result): RpcResponse => ({ ok: true, result })),
          fc
            .record({ name: fc.string({ minLength: 1 }), message: fc.string(), retryable: fc.boolean() })
            .map((error): RpcResponse => errorResponse(error)),
        ),
        (response) => {
          const wire = JSON.parse(JSON.stringify(response));
          expect(parseResponse(wire, 'Quoter.Multiply')).toEqual(wire);
        },
      ),
    );
  });

  it('never fails on an arbitrary payload with anything but RpcMalformedResponseError', () => {
    const nearResponse = fc.record(
      {
        ok: fc.oneof(fc.boolean(), fc.jsonValue()),
        result: fc.jsonValue(),
        error: fc.oneof(
          fc.record(
            { name: fc.oneof(fc.string(), fc.jsonValue()), message: fc.jsonValue(), retryable: fc.jsonValue(), issues: fc.jsonValue() },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.oneof(fc.jsonValue(), nearResponse).map((value) => JSON.stringify(value)),
        ),
        (text) => {
          try {
            decodeResponse(text, 'Quoter.Multiply');
          } catch (err) {
            expect(err).toBeInstanceOf(RpcMalformedResponseError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([
    ['not JSON', 'Task timed out', '(response)'],
    ['another function’s answer', '{"statusCode":200}', 'ok'],
    ['a success without a result', '{"ok":true}', 'result'],
    ['an error without a name', '{"ok":false,"error":{"message":"m","retryable":false}}', 'error.name'],
    ['an error with a retryable string', '{"ok":false,"error":{"name":"E","message":"m","retryable":"yes"}}', 'error.retryable'],
    [
      'an issue without a path',
      '{"ok":false,"error":{"name":"E","message":"m","retryable":false,"issues":[{"message":"x"}]}}',
      'error.issues.0',
    ],
  ])('refuses %s, saying where', (_, text, path) => {
    expect(() => decodeResponse(text, 'Quoter.Multiply')).toThrow(
      expect.objectContaining({ name: 'RpcMalformedResponseError', path, method: 'Quoter.Multiply' }),
    );
  });

  it('reports a thrown error by name and message, retryable only when the property is exactly true', () => {
    const retryable = Object.assign(new TypeError('busy'), { retryable: true });
    const almost = Object.assign(new Error('busy'), { retryable: 'yes' });

    expect(errorBodyOf(retryable)).toEqual({ name: 'TypeError', message: 'busy', retryable: true });
    expect(errorBodyOf(almost)).toEqual({ name: 'Error', message: 'busy', retryable: false });
    expect(errorBodyOf('plain string')).toEqual({ name: 'Error', message: 'plain string', retryable: false });
    expect(
      errorResponse({ name: 'E', message: 'm', retryable: false, issues: Array(500).fill({ path: 'a', message: 'x' }) }),
    ).toMatchObject({
      error: { issues: { length: MAX_ISSUES } },
    });
    expect(errorResponse({ name: 'E', message: 'x'.repeat(MAX_ERROR_MESSAGE_LENGTH * 2), retryable: false })).toMatchObject({
      error: { message: expect.stringMatching(new RegExp(`^x{${MAX_ERROR_MESSAGE_LENGTH - 1}}…$`)) },
    });
  });
});

class QuoteUnavailableError extends Error {
  override name = 'QuoteUnavailableError';
  readonly retryable = true;
}

const fakeContext = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

function quoter(options: ConstructorParameters<typeof RpcServer>[1] = {}) {
  const sleepArgs = z.object({ ms: z.number() });
  const spy = vi.fn(({ A, B }: { A: number; B: number }) => A * B);
  const contexts: RpcContext[] = [];
  const server = new RpcServer(
    {
      'Quoter.Multiply': defineMethod(z.object({ A: z.number(), B: z.number() }), spy),
      'Quoter.Fail': {
        args: z.null(),
        handler: () => {
          throw new QuoteUnavailableError('no quote right now');
        },
      },
      'Quoter.Sleep': {
        args: sleepArgs,
        handler: async ({ ms }, ctx) => {
          contexts.push(ctx);
          await sleep(ms, ctx.signal);
          return ms;
        },
      },
      'Quoter.Result': { args: z.enum(['bigint', 'cycle', 'undefined', 'date', 'large']), handler: (kind) => strangeResult(kind) },
    },
    options,
  );
  return { server, spy, contexts };
}

function strangeResult(kind: string): unknown {
  if (kind === 'bigint') return { n: 1n };
  if (kind === 'cycle') {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    return cycle;
  }
  if (kind === 'date') return new Date(0);
  if (kind === 'large') return 'x'.repeat(2000);
  return undefined;
}

const request = (method: string, args: unknown, extra: Record<string, unknown> = {}) => ({ fnmesh: 'rpc', v: 1, method, args, ...extra });

describe('RpcServer handler', () => {
  it('answers 6 × 7 = 42 in the normal response', async () => {
    const { server } = quoter();

    const response = await server.handler(request('Quoter.Multiply', { A: 6, B: 7 }), fakeContext(3000));

    expect(response).toEqual({ ok: true, result: 42 });
  });

  it('answers a result JSON would change (a number that is not finite) with ResultNotSerializableError, not null', async () => {
    const { server } = quoter();

    const response = await server.handler(request('Quoter.Multiply', { A: 1e200, B: 1e200 }), fakeContext(3000));

    expect(response).toMatchObject({ ok: false, error: { name: RPC_ERROR_NAMES.resultNotSerializable } });
  });

  it('refuses a call whose deadline has passed without running the method', async () => {
    const { server, spy } = quoter({ now: () => 10_000 });

    const response = await server.handler(request('Quoter.Multiply', { A: 6, B: 7 }, { deadline: 9_999 }), fakeContext(3000));

    expect(response).toEqual({
      ok: false,
      error: { name: 'DeadlineExceededError', message: expect.stringContaining('deadline passed'), retryable: false },
    });
    expect(spy).not.toHaveBeenCalled();
  });

  it('refuses a call when the function has less time left than the margin', async () => {
    const { server, spy } = quoter({ timeoutMarginMs: 500 });

    const response = await server.handler(request('Quoter.Multiply', { A: 6, B: 7 }), fakeContext(400));

    expect(response).toMatchObject({ ok: false, error: { name: 'DeadlineExceededError', retryable: false } });
    expect(spy).not.toHaveBeenCalled();
  });

  it('aborts ctx.signal at the earlier of the deadline and the function timeout less the margin', async () => {
    const now = Date.now();
    const { server, contexts } = quoter({ timeoutMarginMs: 900, now: () => now });

    const byFunction = await server.handler(request('Quoter.Sleep', { ms: 5000 }, { deadline: now + 60_000 }), fakeContext(1000));
    const byDeadline = await server.handler(request('Quoter.Sleep', { ms: 5000 }, { deadline: now + 50 }), fakeContext(60_000));

    expect(contexts.map((ctx) => ctx.deadline)).toEqual([now + 100, now + 50]);
    expect(contexts.map((ctx) => (ctx.signal.reason as Error).name)).toEqual(['DeadlineExceededError', 'DeadlineExceededError']);
    expect(byFunction).toMatchObject({
      ok: false,
      error: { name: 'DeadlineExceededError', message: expect.stringContaining('times out') },
    });
    expect(byDeadline).toMatchObject({ ok: false, error: { name: 'DeadlineExceededError', message: expect.stringContaining('deadline') } });
  });

  it('runs without a deadline when called without a Lambda context or deadline', async () => {
    const { server, contexts } = quoter();

    const response = await server.handler(request('Quoter.Sleep', { ms: 1 }));

    expect(response).toEqual({ ok: true, result: 1 });
    expect(contexts[0]).toMatchObject({ deadline: undefined, method: 'Quoter.Sleep', traceId: undefined });
  });

  it('answers an unknown method with UnknownMethodError', async () => {
    const { server } = quoter();

    const response = await server.handler(request('Quoter.Divide', { A: 6, B: 7 }), fakeContext(3000));

    expect(response).toEqual({
      ok: false,
      error: { name: RPC_ERROR_NAMES.unknownMethod, message: "rpc: can't find method Quoter.Divide", retryable: false },
    });
  });

  it('answers arguments failing the schema with InvalidArgumentsError and its issues', async () => {
    const { server, spy } = quoter();

    const response = await server.handler(request('Quoter.Multiply', { A: 6, B: 'seven' }), fakeContext(3000));

    expect(response).toMatchObject({
      ok: false,
      error: { name: 'InvalidArgumentsError', retryable: false, issues: [{ path: 'B', message: expect.any(String) }] },
    });
    expect(spy).not.toHaveBeenCalled();
  });

  it('answers an event that is not a request with MalformedRequestError instead of crashing', async () => {
    const { server } = quoter();

    const response = await server.handler({ Records: [] }, fakeContext(3000));

    expect(response).toMatchObject({
      ok: false,
      error: { name: 'MalformedRequestError', retryable: false, issues: [{ path: 'fnmesh', message: expect.any(String) }] },
    });
  });

  it('answers a thrown error with its name, message and retryable flag', async () => {
    const { server } = quoter();

    const response = await server.handler(request('Quoter.Fail', null), fakeContext(3000));

    expect(response).toEqual({ ok: false, error: { name: 'QuoteUnavailableError', message: 'no quote right now', retryable: true } });
  });

  it.each([
    ['a BigInt', 'bigint', { ok: false, error: { name: 'ResultNotSerializableError', retryable: false } }],
    ['a cycle', 'cycle', { ok: false, error: { name: 'ResultNotSerializableError', retryable: false } }],
    ['undefined', 'undefined', { ok: true, result: null }],
    ['a Date', 'date', { ok: true, result: '1970-01-01T00:00:00.000Z' }],
    ['a result over the limit', 'large', { ok: false, error: { name: 'ResultTooLargeError', retryable: false } }],
  ])('answers %s as it would travel, never crashing', async (_, kind, expected) => {
    const { server } = quoter({ maxResponseBytes: 1000 });

    const response = await server.handler(request('Quoter.Result', kind), fakeContext(3000));

    expect(response).toMatchObject(expected);
  });

  it('never rejects, whatever the event', async () => {
    const { server } = quoter();

    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), nearRequest), async (event) => {
        const response = await server.handler(event, fakeContext(3000));
        expect(parseResponse(response, 'Quoter.Multiply')).toEqual(response);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['a name without a service', () => new RpcServer({ Multiply: { args: z.null(), handler: () => 1 } })],
    ['a name with a space', () => new RpcServer({ 'Quoter. Multiply': { args: z.null(), handler: () => 1 } })],
    ['a method without a schema', () => new RpcServer({ 'Quoter.Multiply': { handler: () => 1 } } as never)],
    ['a method without a handler', () => new RpcServer({ 'Quoter.Multiply': { args: z.null() } } as never)],
    ['no methods', () => new RpcServer({})],
    ['a negative margin', () => new RpcServer({ 'Quoter.Multiply': { args: z.null(), handler: () => 1 } }, { timeoutMarginMs: -1 })],
  ])('refuses %s at construction', (_, construct) => {
    expect(construct).toThrow(MeshConfigError);
  });
});

const invokeOutput = (payload: string, extra: Partial<InvokeCommandOutput> = {}) =>
  ({ StatusCode: 200, Payload: Buffer.from(payload), $metadata: {}, ...extra }) as InvokeCommandOutput;

describe('RpcClient outcome mapping', () => {
  it('returns the result of a success', () => {
    expect(outcomeOf('Quoter.Multiply', invokeOutput('{"ok":true,"result":42}'))).toBe(42);
  });

  it('maps error responses to typed errors', () => {
    const outcome = (error: object) => {
      try {
        outcomeOf('Quoter.Multiply', invokeOutput(JSON.stringify({ ok: false, error })));
      } catch (err) {
        return err;
      }
    };

    expect(outcome({ name: 'UnknownMethodError', message: 'm', retryable: false })).toBeInstanceOf(RpcUnknownMethodError);
    expect(outcome({ name: 'InvalidArgumentsError', message: 'm', retryable: false, issues: [{ path: 'B', message: 'x' }] })).toMatchObject(
      {
        name: 'RpcInvalidArgumentsError',
        issues: [{ path: 'B', message: 'x' }],
      },
    );
    expect(outcome({ name: 'InvalidArgumentsError', message: 'm', retryable: false })).toBeInstanceOf(RpcInvalidArgumentsError);
    expect(outcome({ name: 'QuoteUnavailableError', message: 'm', retryable: true })).toMatchObject({
      name: 'RpcRemoteError',
      remoteName: 'QuoteUnavailableError',
      retryable: true,
      method: 'Quoter.Multiply',
    });
    expect(outcome({ name: 'QuoteUnavailableError', message: 'm', retryable: true })).toBeInstanceOf(RpcRemoteError);
  });

  it("maps Lambda's FunctionError to RpcFunctionError with the payload's type and message", () => {
    const crashed = invokeOutput('{"errorType":"Runtime.ExitError","errorMessage":"exit status 3"}', { FunctionError: 'Unhandled' });
    const opaque = invokeOutput('Task timed out', { FunctionError: 'Unhandled' });

    expect(() => outcomeOf('Quoter.Crash', crashed)).toThrow(
      expect.objectContaining({ name: 'RpcFunctionError', errorType: 'Runtime.ExitError', errorMessage: 'exit status 3' }),
    );
    expect(() => outcomeOf('Quoter.Crash', opaque)).toThrow(
      expect.objectContaining({ errorType: 'Unhandled', errorMessage: 'Task timed out' }),
    );
    expect(() => outcomeOf('Quoter.Crash', opaque)).toThrow(RpcFunctionError);
  });

  it('refuses an answer that is not an RPC response', () => {
    expect(() => outcomeOf('Quoter.Multiply', invokeOutput(''))).toThrow(RpcMalformedResponseError);
    expect(() => outcomeOf('Quoter.Multiply', invokeOutput('"hello"'))).toThrow(RpcMalformedResponseError);
  });
});

describe('RpcClient before any call', () => {
  // Fails the test if anything is sent.
  const lambda = { send: vi.fn(() => Promise.reject(new Error('no call expected'))) } as unknown as LambdaClient;
  const client = new RpcClient({ lambda, functionName: 'quoter', maxPayloadBytes: 1000 });

  it.each([
    ['without a Lambda client', () => new RpcClient({ functionName: 'quoter' } as never)],
    ['without a function name', () => new RpcClient({ lambda, functionName: '' })],
    ['with a zero payload limit', () => new RpcClient({ lambda, functionName: 'quoter', maxPayloadBytes: 0 })],
    ['a typed method with a bad name', () => client.method('Multiply')],
  ])('refuses %s', (_, construct) => {
    expect(construct).toThrow(MeshConfigError);
  });

  it('refuses a request over the limit, a bad timeout, a bad name or an aborted signal without invoking', async () => {
    await expect(client.call('Quoter.Multiply', { A: 'x'.repeat(1000), B: 1 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(client.call('Quoter.Multiply', { A: 1, B: 1 }, { timeoutMs: 0 })).rejects.toBeInstanceOf(MeshConfigError);
    await expect(client.call('Multiply', { A: 1, B: 1 })).rejects.toBeInstanceOf(MalformedRequestError);
    await expect(client.call('Quoter.Multiply', { A: 1, B: 1 }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(MeshAbortError);
    expect(lambda.send).not.toHaveBeenCalled();
  });
});
