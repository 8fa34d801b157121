/** The Quoter service of the seed's `net/rpc` example: `Quoter.Multiply(Args{A, B}) → A*B`. */
import { z } from 'zod';
import { defineMethod } from '../../lib/rpc/RpcServer.ts';

export const multiplyArgs = z.object({ A: z.number(), B: z.number() });

export const quoterMethods = {
  'Quoter.Multiply': defineMethod(multiplyArgs, async ({ A, B }) => A * B),
};
