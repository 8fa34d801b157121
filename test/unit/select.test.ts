/**
 * select's choice of poll, against SQS behaviour LocalStack does not show: a short poll
 * (WaitTimeSeconds 0) samples only some of SQS's servers and may come back empty from a queue that
 * holds a value (LocalStack always finds it). The channel here is a fake that behaves so.
 */
import { describe, expect, it } from 'vitest';
import { recv, select, type SelectableChannel } from '../../lib/channel/select.ts';
import type { Envelope } from '../../lib/channel/envelope.ts';

/** A channel with one value ready, which a short poll misses. */
function sampledQueue(): SelectableChannel<string> & { waits: number[] } {
  const waits: number[] = [];
  const envelope: Envelope<string> = { id: 'm1', traceId: 't', parent: null, sentAt: 0, body: 'ready' };
  return {
    waits,
    status: async () => ({ sent: 1, received: 0, abandoned: 0, queued: 1, closed: false, capacity: undefined }),
    receiveOnce: async (waitTimeSeconds) => {
      waits.push(waitTimeSeconds);
      return waitTimeSeconds > 0 ? { ok: true, value: 'ready', envelope } : 'empty';
    },
  };
}

describe('select', () => {
  it('with a default case, takes a ready value a short poll would miss (it long-polls the ready case)', async () => {
    const queue = sampledQueue();

    const result = await select([recv(queue)], { default: true });

    expect(result).toMatchObject({ kind: 'receive', index: 0, ok: true, value: 'ready' });
    expect(queue.waits).toEqual([1]);
  });

  it('polls without waiting once less than a second of its timeout is left', async () => {
    const queue = sampledQueue();

    const result = await select([recv(queue)], { timeoutMs: 300 });

    expect(result).toEqual({ kind: 'timeout', index: -1 });
    expect(queue.waits.every((wait) => wait === 0)).toBe(true);
  });
});
