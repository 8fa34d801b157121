/** channel: a worker sends 10 on a channel; the caller receives 10. */
import { z } from 'zod';
import { CHANNELS, FUNCTIONS } from '../../infra/stack.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { go } from '../../lib/spawn/go.ts';
import type { DemoRun } from './run.ts';

export async function channel({ ctx, out, trace, traceId }: DemoRun) {
  const ping = new Channel({
    sqs: ctx.sqs,
    dynamodb: ctx.dynamodb,
    tableName: ctx.tableName,
    name: 'ping',
    queueUrl: await ctx.queueUrl(CHANNELS.ping),
    schema: z.number().int(),
    waitTimeSeconds: 1,
  });
  await go(ctx.lambda, ctx.functionName(FUNCTIONS.channel), { value: 10, trace });
  const signal = AbortSignal.timeout(60_000);
  return ctx.tracer.span({ traceId, parent: trace.parent ?? null, kind: 'channel', name: 'receive from ping' }, async () => {
    for (;;) {
      const { ok, value, envelope } = await ping.receive({ signal });
      // The ping channel lives on between runs: a value of another run is taken and set aside.
      if (ok && envelope.traceId === traceId) {
        out.say(`received ${value} from the channel function`);
        return { received: value, messageId: envelope.id };
      }
    }
  });
}
