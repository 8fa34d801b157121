/** rpc: Quoter.Multiply({ A, B }) over a synchronous Lambda call; errors come back typed. */
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
    const error = err as Error;
    const remote = err instanceof RpcRemoteError ? { remoteName: err.remoteName, retryable: err.retryable } : {};
    out.say(`${options.method} failed: ${error.name}: ${error.message}`);
    return { error: { name: error.name, message: error.message, ...remote } };
  }
}
