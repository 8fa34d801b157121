/** The Quoter service of the seed's `net/rpc` example: `Quoter.Multiply(Args{A, B}) → A*B`. */
import { defineMethod } from 'fnmesh';
import { z } from 'zod';

export const multiplyArgs = z.object({ A: z.number(), B: z.number() });

export const quoterMethods = {
  'Quoter.Multiply': defineMethod(multiplyArgs, async ({ A, B }) => A * B),
};
