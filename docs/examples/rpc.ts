// Go's net/rpc: a Quoter service served by one Lambda function, and a client calling it.
import { LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { type ArgsOf, defineMethod, type ResultOf, RpcClient, rpcHandler, RpcRemoteError } from 'fnmesh';

// The server. Go: rpc.Register(new(Quoter)).
class QuoteUnavailableError extends Error {
  override name = 'QuoteUnavailableError';
  readonly retryable = true; // the caller's RpcRemoteError has retryable: true
}

const multiply = defineMethod(z.object({ A: z.number(), B: z.number() }), ({ A, B }) => A * B);

export const handler = rpcHandler({
  'Quoter.Multiply': multiply,
  'Quoter.Price': defineMethod(z.object({ symbol: z.string().min(1) }), async ({ symbol }, ctx) => {
    // ctx.signal aborts at the caller's deadline, or before this function would time out.
    const response = await fetch(`https://quotes.example.com/${encodeURIComponent(symbol)}`, { signal: ctx.signal });
    if (!response.ok) throw new QuoteUnavailableError(`no quote for ${symbol} (${response.status})`);
    return ((await response.json()) as { price: number }).price;
  }),
});

// The client. Go: client.Call("Quoter.Multiply", &Args{6, 7}, &reply).
const quoter = new RpcClient({ lambda: new LambdaClient({}), functionName: 'fnmesh-dev-quoter' });
const callMultiply = quoter.method<ArgsOf<typeof multiply>, ResultOf<typeof multiply>>('Quoter.Multiply');

export async function answer(): Promise<number> {
  return callMultiply({ A: 6, B: 7 }, { timeoutMs: 5000 }); // 42
}

export async function price(symbol: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await quoter.call<number>('Quoter.Price', { symbol }, { timeoutMs: 5000 });
    } catch (err) {
      if (!(err instanceof RpcRemoteError && err.retryable && attempt < 3)) throw err;
    }
  }
}
