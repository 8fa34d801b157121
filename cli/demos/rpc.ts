/**
 * rpc: Quoter.Multiply({ A, B }) over a synchronous Lambda call; the server's errors come back
 * typed, and are what this demo shows (bad arguments, an unknown method). Any other failure (the
 * function missing or failing, the cloud unreachable, a timeout) fails the demo.
 */
import { FUNCTIONS } from '../../infra/stack.ts';
import { RpcRemoteError } from '../../lib/errors.ts';
import { RpcClient } from '../../lib/rpc/RpcClient.ts';
import type { DemoRun } from './run.ts';

export interface RpcOptions {
  a: unknown;
  b: unknown;
  method: string;
}

export async function rpc({ ctx, out, traceId }: DemoRun, options: RpcOptions) {
  const client = new RpcClient({ lambda: ctx.lambda, functionName: ctx.functionName(FUNCTIONS.quoter) });
  try {
    const result = await client.call<number>(options.method, { A: options.a, B: options.b }, { traceId, timeoutMs: 30_000 });
    out.say(`${options.method}({ A: ${JSON.stringify(options.a)}, B: ${JSON.stringify(options.b)} }) = ${result}`);
    return { result };
  } catch (err) {
    if (!(err instanceof RpcRemoteError)) throw err;
    out.say(`${options.method} failed: ${err.name}: ${err.message}`);
    return { error: { name: err.name, message: err.message, remoteName: err.remoteName, retryable: err.retryable } };
  }
}
