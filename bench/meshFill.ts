/**
 * A busy mesh table, made up: `meshFillItems(n)` gives n items in the mix a long-lived stage table
 * holds (mostly trace hops, then channel meta items, locks of each kind, groups with their task
 * items, wait groups and Once keys), written as the primitives write them (docs/item-format.md,
 * docs/primitives/*.md); `fillMeshTable` writes them with BatchWriteItem. For `npm run bench:ui`
 * and the UI's call-count test, which read such a table the way `fnmesh ui` does.
 */
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Item, keys } from '../lib/table/layout.ts';

/** Shares of the mix (they sum to 1); hops take what is left after rounding. */
const MIX = {
  channel: 0.05,
  mutex: 0.05,
  rwMutex: 0.015,
  semaphore: 0.01,
  group: 0.02,
  groupTask: 0.03,
  waitGroup: 0.01,
  once: 0.015,
} as const;

const HOPS_PER_TRACE = 10;

const n = (value: number) => ({ N: String(value) });
const s = (value: string) => ({ S: value });

/** What `meshFillItems` made, by kind. */
export type MeshFillCounts = Record<keyof typeof MIX | 'hop', number> & { traces: number };

/**
 * `total` items (≥ 100): about 80 % trace hops in runs of 10, the rest locks, channels, groups,
 * wait groups and Once keys; a fifth of the locks held (leases ending a minute after `now`).
 * `hopLogBytes` adds a log excerpt of that many bytes to each hop's detail (as a failed step's
 * stack would): a table of as many bytes in fewer items, which the local cloud scans faster.
 */
export function meshFillItems(
  total: number,
  now = Date.now(),
  { hopLogBytes = 0 }: { hopLogBytes?: number } = {},
): { items: Item[]; counts: MeshFillCounts } {
  if (!Number.isSafeInteger(total) || total < 100) throw new RangeError(`total must be an integer ≥ 100, got ${total}`);
  const share = (kind: keyof typeof MIX) => Math.round(total * MIX[kind]);
  const items: Item[] = [];
  const held = (i: number) => i % 5 === 0;
  const token = (i: number) => `bench-${i}/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  for (let i = 0; i < share('channel'); i++) {
    items.push({
      ...keys.channel(`orders-${i}`),
      v: n(1),
      queued: n(i % 7),
      sent: n(100 + i),
      received: n(100 + i - (i % 7)),
      abandoned: n(0),
    });
  }
  for (let i = 0; i < share('mutex'); i++) {
    items.push({
      ...keys.mutex(`invoice-${i}`),
      v: n(1),
      fence: n(1 + (i % 50)),
      ...(held(i) ? { owner: s(token(i)), leaseUntil: n(now + 60_000) } : { releasedBy: s(token(i)) }),
    });
  }
  for (let i = 0; i < share('rwMutex'); i++) {
    const readers = held(i) ? {} : { [token(i)]: n(now + 60_000), [token(i + 1)]: n(now + 30_000) };
    items.push({
      ...keys.rwMutex(`catalog-${i}`),
      v: n(1),
      version: n(10 + i),
      fence: n(1 + (i % 9)),
      readers: { M: readers },
      ...(held(i) ? { writer: s(token(i)), writerUntil: n(now + 60_000) } : {}),
    });
  }
  for (let i = 0; i < share('semaphore'); i++) {
    items.push({
      ...keys.semaphore(`pool-${i}`),
      v: n(1),
      version: n(5 + i),
      capacity: n(4),
      used: n(3),
      holders: {
        M: { [token(i)]: { M: { w: n(2), until: n(now + 60_000) } }, [token(i + 1)]: { M: { w: n(1), until: n(now + 60_000) } } },
      },
    });
  }
  const groups = share('group');
  for (let i = 0; i < groups; i++) {
    items.push({ ...keys.group(`squares-${i}`), v: n(1), started: n(12), pending: n(i % 3), succeeded: n(12 - (i % 3)), failed: n(0) });
  }
  for (let i = 0; i < share('groupTask'); i++) {
    items.push({ ...keys.groupTask(`squares-${i % Math.max(1, groups)}`, `task-${i}`), v: n(1), state: s('succeeded') });
  }
  for (let i = 0; i < share('waitGroup'); i++) {
    items.push({ ...keys.waitGroup(`fan-in-${i}`), v: n(1), count: n(i % 4), started: n(8), lost: n(0) });
  }
  for (let i = 0; i < share('once'); i++) {
    items.push({ ...keys.once(`migrate-${i}`), v: n(1), state: s('done'), fence: n(1), owner: s(token(i)) });
  }
  const hops = total - items.length;
  const traces = Math.ceil(hops / HOPS_PER_TRACE);
  for (let i = 0; i < hops; i++) {
    const trace = Math.floor(i / HOPS_PER_TRACE);
    const hop = i % HOPS_PER_TRACE;
    const traceId = `${String(trace).padStart(8, '0')}-bench-trace`;
    const startedAt = now - 3_600_000 + trace * 1000 + hop * 10;
    items.push({
      ...keys.traceHop(traceId, startedAt, `hop-${hop}`),
      traceId: s(traceId),
      hopId: s(`hop-${hop}`),
      kind: s(hop === 0 ? 'driver' : hop % 3 === 0 ? 'channel' : 'function'),
      name: s(hop === 0 ? 'demo squares' : `square task ${hop}`),
      startedAt: n(startedAt),
      endedAt: n(startedAt + 40 + hop),
      outcome: s(hop === 7 && trace % 10 === 0 ? 'error' : 'ok'),
      ...(hop === 0 ? {} : { parent: s('hop-0') }),
      detail: s(
        JSON.stringify({
          task: hop,
          queue: 'fnmesh-local-tasks',
          attempt: 1,
          requestId: token(i),
          ...(hopLogBytes
            ? { log: 'at square (functions/square.ts:12:9) '.repeat(Math.ceil(hopLogBytes / 38)).slice(0, hopLogBytes) }
            : {}),
        }),
      ),
      expiresAt: n(Math.ceil(now / 1000) + 7 * 86_400),
    });
  }
  const counts = {
    ...(Object.fromEntries(Object.keys(MIX).map((kind) => [kind, share(kind as keyof typeof MIX)])) as Record<keyof typeof MIX, number>),
    hop: hops,
    traces,
  };
  return { items, counts };
}

/** Writes `items` with BatchWriteItem (25 a call, `parallel` calls at a time), retrying what comes back unprocessed. */
export async function fillMeshTable(client: DynamoDBClient, tableName: string, items: readonly Item[], parallel = 4): Promise<void> {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let requests = batches[next++]!.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 20) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed 20 times`);
        const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
        if (requests.length) await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
