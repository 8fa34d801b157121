/**
 * `fnmesh ui` on the deployed stack (stage local), on LocalStack with the real SDK clients, the
 * page in headless Chromium (test/helpers/browser.ts):
 *
 * - a held lock of the counter demo shows its holder and fence while held, and the pool demo's
 *   channel counts move on the page by exactly the demo's values while it runs;
 * - its reads per tick, counted exactly (CallCounter): one Scan per tick for both the status and
 *   the runs list over a table of several pages, one GetQueueAttributes per dead-letter queue of
 *   the stack, an event only when something changed, and nothing read while no page is open.
 *
 * Exact counts on the stack's channels and "nothing changed" on its dead-letter queues need the
 * stack to keep still: this file takes the stack alone (test/helpers/stack.ts).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshContext, type MeshContext } from '../../cli/context.ts';
import { counter } from '../../cli/demos/counter.ts';
import { pool } from '../../cli/demos/pool.ts';
import { runDemo } from '../../cli/demos/run.ts';
import type { Output } from '../../cli/output.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { channelQueues } from '../../cli/commands/dlq.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { fillMeshTable, meshFillItems } from '../../bench/meshFill.ts';
import { STACK_CHANNELS } from '../../infra/stack.ts';
import { createMeshTable, deleteMeshTable, dynamodb } from '../../infra/localstack/resources.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import type { Item } from '../../lib/table/layout.ts';
import { Tracer } from '../../lib/trace/Tracer.ts';
import { cellText, chromiumForFile } from '../helpers/browser.ts';

import { useTheStack } from '../helpers/stack.ts';

useTheStack({ alone: true }); // the run's one deploy, to itself (test/helpers/stack.ts)

const silent: Output = { json: true, say() {}, progress() {}, table() {}, result() {} };

const chromium = chromiumForFile();

describe('fnmesh ui in Chromium, on the deployed stack (stage local): locks, channels, calls per tick', () => {
  let stage: UiServer;
  let ctx: MeshContext;

  beforeAll(async () => {
    ctx = meshContext('local');
    stage = await startUiServer({ data: meshUiData(ctx), assets: await loadUiAssets(), pollMs: 200 });
  }, 300_000);

  afterAll(async () => {
    await stage?.close();
    for (const client of [ctx?.dynamodb, ctx?.sqs, ctx?.lambda]) client?.destroy();
  });

  it("shows the counter demo's lock with its holder and fence while held, and its workers' grants after", async () => {
    // Prepare: the demo's lock is `demo-<runId>-lock` (functions/counter); the test takes it first.
    const runId = `ui${Date.now().toString(36)}`;
    const lockName = `demo-${runId}-lock`;
    const workers = 2;
    const increments = 5;
    const blocker = await new Mutex({
      client: ctx.dynamodb,
      tableName: ctx.tableName,
      name: lockName,
      owner: 'ui-test',
      leaseMs: 60_000,
    }).lock();
    const page = await chromium.newPage();
    const row = `[data-lock="${lockName}"][data-kind="mutex"]`;
    try {
      await page.goto(stage.url);
      // Act: the demo's workers wait on the lock the test holds; the page shows the test as its holder.
      const demo = runDemo(ctx, silent, 'counter', (run) => counter({ ...run, runId }, { workers, increments, unsafe: false }));
      await expect.poll(() => cellText(page, row, 'holder'), { timeout: 20_000 }).toBe(blocker.owner);
      const heldFence = await cellText(page, row, 'fence');
      const heldLease = await cellText(page, row, 'lease');
      await blocker.unlock();
      const result = await demo;
      // Assess
      expect(heldFence).toBe(String(blocker.fence));
      expect(heldLease).toMatch(/^\d+(\.\d+)? s$/);
      expect(result).toMatchObject({ expected: workers * increments, actual: workers * increments, lostUpdates: 0 });
      // Every worker's increment was a grant of the same lock: the fence went on from the test's.
      await expect.poll(() => cellText(page, row, 'fence'), { timeout: 10_000 }).toBe(String(blocker.fence + workers * increments));
      // (The last grant may show its holder first, then its unlock.)
      await expect.poll(() => cellText(page, row, 'holder'), { timeout: 10_000 }).toBe('free');
    } finally {
      await page.close();
      await blocker.unlock().catch(() => undefined);
    }
  }, 180_000);

  it("shows the tasks and results channels' counts moving while the pool demo runs", async () => {
    // Prepare
    const tasks = 10;
    const page = await chromium.newPage();
    try {
      await page.goto(stage.url);
      const sent = (channel: string) => cellText(page, `[data-channel="${channel}"]`, 'sent').then(Number);
      await expect.poll(() => page.locator('[data-channel="tasks"]').count(), { timeout: 20_000 }).toBe(1);
      const before = { tasks: await sent('tasks'), results: await sent('results') };
      // Act
      const run = runDemo(ctx, silent, 'pool', (demo) => pool(demo, { tasks, failOnce: [] }));
      const seen: number[] = [];
      let done = false;
      void run.finally(() => (done = true));
      while (!done) {
        const value = await sent('results');
        if (seen.at(-1) !== value) seen.push(value);
        await page.waitForTimeout(100);
      }
      const result = await run;
      // Assess
      expect(result.results).toHaveLength(tasks);
      await expect.poll(() => sent('tasks'), { timeout: 10_000 }).toBe(before.tasks + tasks);
      await expect.poll(() => sent('results'), { timeout: 10_000 }).toBeGreaterThanOrEqual(before.results + tasks);
      // The page saw the results channel's count move while the demo ran, and never go back.
      expect(seen[0]).toBe(before.results);
      expect(seen.length).toBeGreaterThan(1);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('reads one Scan per tick for status and runs, 1 GetQueueAttributes per dead-letter queue, re-sends only changes, and nothing while no page is open', async () => {
    // Prepare: a table of several pages behind the stage's queues, every call counted.
    const tableName = await createMeshTable('uiticks');
    const counter = new CallCounter();
    const counted = meshContext('local');
    counter.attach(counted.dynamodb, 'DynamoDB');
    counter.attach(counted.sqs, 'SQS');
    const pollMs = 1000;
    const own = await startUiServer({
      data: meshUiData({ ...counted, tableName, tracer: new Tracer({ client: counted.dynamodb, tableName }) }),
      assets: { html: '', js: '', css: '' },
      pollMs,
    });
    const stream = new AbortController();
    try {
      // Leases ending an hour from now: none ends between the ticks, however slow the machine (an
      // ended lease is a change, which the stream would rightly send).
      await fillMeshTable(dynamodb, tableName, meshFillItems(1000, Date.now() + 3_600_000, { hopLogBytes: 1500 }).items);
      let pages = 0;
      let start: Item | undefined;
      do {
        const page = await dynamodb.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
        pages++;
        start = page.LastEvaluatedKey;
      } while (start);
      const deadLetterQueues = new Set(STACK_CHANNELS.map((channel) => channelQueues(counted, channel).deadLetterKey)).size;
      const events = await fetch(`http://127.0.0.1:${own.port}/api/events?token=${own.token}`, { signal: stream.signal });
      const reader = events.body!.getReader();
      const buffer = { text: '' };
      const [first] = await nextEvents(reader, 1, buffer);
      // Act: three ticks counted from the end of the first; the runs list asked for during the second.
      counter.reset();
      const [second] = await nextEvents(reader, 1, buffer);
      // (Its body read at once: a half-read answer's connection would be closed by the server's keep-alive timeout.)
      const runs = await fetch(`http://127.0.0.1:${own.port}/api/traces?limit=500`, { headers: { 'X-Fnmesh-Token': own.token } }).then(
        async (answer) => ({ status: answer.status, body: (await answer.json()) as { traces: unknown[] } }),
      );
      const rest = await nextEvents(reader, 2, buffer);
      const perThreeTicks = counter.snapshot();
      stream.abort();
      counter.reset();
      await new Promise((resolve) => setTimeout(resolve, 3 * pollMs));
      const whileClosed = counter.total();
      // Assess
      expect(pages).toBeGreaterThan(1);
      expect(first!.event).toBe('status');
      expect(first!.data.locks.length).toBeGreaterThan(0);
      expect(first!.data.deadLetters).toEqual(expect.any(Number));
      expect([second!, ...rest].map((e) => e.event)).toEqual(['unchanged', 'unchanged', 'unchanged']);
      expect(runs.status).toBe(200);
      expect(runs.body.traces.length).toBeGreaterThan(0);
      expect(perThreeTicks).toEqual({ 'DynamoDB.Scan': 3 * pages, 'SQS.GetQueueAttributes': 3 * deadLetterQueues });
      expect(whileClosed).toBe(0);
    } finally {
      stream.abort();
      await own.close();
      for (const client of [counted.dynamodb, counted.sqs, counted.lambda]) client.destroy();
      await deleteMeshTable(tableName);
    }
  }, 240_000);
});

/** The next `count` events of an event stream, read as they come. */
async function nextEvents(reader: ReadableStreamDefaultReader<Uint8Array>, count: number, buffer: { text: string }) {
  const events: { event: string; data: any }[] = [];
  const decoder = new TextDecoder();
  while (events.length < count) {
    const block = /^(?:retry: \d+\n\n)?event: (\w+)\ndata: (.*)\n\n/.exec(buffer.text);
    if (block) {
      events.push({ event: block[1]!, data: JSON.parse(block[2]!) });
      buffer.text = buffer.text.slice(block[0].length);
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error('the event stream ended');
    buffer.text += decoder.decode(value, { stream: true });
  }
  return events;
}
