/**
 * RPC over synchronous Lambda invocation: the quoter fixture deployed as a real function on
 * LocalStack (3 s timeout), called through RpcClient; every outcome arrives as its typed error.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshContext } from '../../cli/context.ts';
import { rpc as rpcDemo } from '../../cli/demos/rpc.ts';
import { output } from '../../cli/output.ts';
import {
  MeshAbortError,
  RpcFunctionError,
  RpcInvalidArgumentsError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcTransportError,
  RpcUnknownMethodError,
} from '../../lib/errors.ts';
import { RpcClient } from '../../lib/rpc/RpcClient.ts';
import { lambda, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { deployFixture } from '../helpers/deployWorker.ts';

const functionName = `fnmesh-test-quoter-${uniqueSuffix()}`;
let removeQuoter: () => Promise<void>;

beforeAll(async () => {
  removeQuoter = await deployFixture('quoter', functionName, { timeout: 3 });
});

afterAll(async () => {
  await removeQuoter();
});

const client = () => new RpcClient({ lambda, functionName });

async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (result) => {
      throw new Error(`expected the call to fail, it returned ${JSON.stringify(result)}`);
    },
    (err: unknown) => err,
  );
}

describe('RpcClient against a real function', () => {
  it('calls Quoter.Multiply: 6 × 7 = 42, by name and through a typed method', async () => {
    const quoter = client();
    const multiply = quoter.method<{ A: number; B: number }, number>('Quoter.Multiply');

    const byName = await quoter.call<number>('Quoter.Multiply', { A: 6, B: 7 });
    const typed = await multiply({ A: -3, B: 5 }, { timeoutMs: 10_000, traceId: 'trace-rpc-test' });

    expect(byName).toBe(42);
    expect(typed).toBe(-15);
  });

  it("reports the method's error with its name, message and retryable flag", async () => {
    const error = await failure(client().call('Quoter.Fail', { message: 'no quote for XYZ' }));

    expect(error).toBeInstanceOf(RpcRemoteError);
    expect(error).toMatchObject({
      method: 'Quoter.Fail',
      remoteName: 'QuoteUnavailableError',
      message: 'Quoter.Fail: QuoteUnavailableError: no quote for XYZ',
      retryable: true,
    });
  });

  it('reports an unknown method as RpcUnknownMethodError, not retryable', async () => {
    const error = await failure(client().call('Quoter.Divide', { A: 6, B: 7 }));

    expect(error).toBeInstanceOf(RpcUnknownMethodError);
    expect(error).toMatchObject({ remoteName: 'UnknownMethodError', retryable: false });
  });

  it('reports arguments failing the schema as RpcInvalidArgumentsError with the issues', async () => {
    const error = await failure(client().call('Quoter.Multiply', { A: 6, B: 'seven' }));

    expect(error).toBeInstanceOf(RpcInvalidArgumentsError);
    expect((error as RpcInvalidArgumentsError).issues).toEqual([{ path: 'B', message: expect.any(String) }]);
  });

  it('reports a function that exits as RpcFunctionError Runtime.ExitError', async () => {
    const error = await failure(client().call('Quoter.Crash', null));

    expect(error).toBeInstanceOf(RpcFunctionError);
    expect(error).toMatchObject({ errorType: 'Runtime.ExitError', errorMessage: expect.stringContaining('exit status 3') });
  });

  it('reports a method that ignores its signal past the 3 s function timeout as RpcFunctionError Sandbox.Timedout', async () => {
    const error = await failure(client().call('Quoter.Hang', { ms: 5000 }));

    expect(error).toBeInstanceOf(RpcFunctionError);
    expect(error).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: expect.stringContaining('timed out') });
  });

  it('answers DeadlineExceededError before the function timeout when the method honours ctx.signal', async () => {
    const started = Date.now();

    const error = await failure(client().call('Quoter.Sleep', { ms: 5000 }));

    expect(error).toBeInstanceOf(RpcRemoteError);
    // The function's own answer (not Sandbox.Timedout): it stopped at its deadline, before its
    // timeout, and long before the 5 s sleep would have ended.
    expect(error).toMatchObject({ remoteName: 'DeadlineExceededError', retryable: false });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up with RpcTimeoutError when timeoutMs passes before the answer', async () => {
    const started = Date.now();

    const error = await failure(client().call('Quoter.Sleep', { ms: 2000 }, { timeoutMs: 500 }));

    expect(error).toBeInstanceOf(RpcTimeoutError);
    expect(error).toMatchObject({ method: 'Quoter.Sleep', timeoutMs: 500 });
    expect(Date.now() - started).toBeLessThan(1900);
  });

  it("stops waiting with MeshAbortError when the caller's signal aborts", async () => {
    const error = await failure(client().call('Quoter.Sleep', { ms: 2000 }, { signal: AbortSignal.timeout(300) }));

    expect(error).toBeInstanceOf(MeshAbortError);
  });

  it('reports a function that does not exist as RpcTransportError, keeping the SDK error', async () => {
    const missing = new RpcClient({ lambda, functionName: `fnmesh-test-missing-${uniqueSuffix()}` });

    const error = await failure(missing.call('Quoter.Multiply', { A: 6, B: 7 }));

    expect(error).toBeInstanceOf(RpcTransportError);
    expect((error as RpcTransportError).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('fnmesh demo rpc', () => {
  const run = (functionNameOf: (name: string) => string, a: unknown) => {
    const out = output(false, new PassThrough()); // its lines go nowhere
    const ctx = { lambda, functionName: functionNameOf } as unknown as MeshContext;
    return rpcDemo(
      { ctx, out, runId: 'r', traceId: `t-${uniqueSuffix()}`, trace: { traceId: 't', parent: null } },
      { a, b: 7, method: 'Quoter.Multiply' },
    );
  };

  it("shows the server's typed errors, and fails on any other (here: the quoter is not deployed)", async () => {
    expect(await run(() => functionName, 'six')).toMatchObject({ error: { name: 'RpcInvalidArgumentsError' } });
    await expect(run(() => `fnmesh-test-no-such-quoter-${uniqueSuffix()}`, 6)).rejects.toBeInstanceOf(RpcTransportError);
  });
});
