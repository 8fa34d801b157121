/**
 * `fnmesh ui` for locks of every kind and for a busy table, on LocalStack with the real SDK
 * clients, the page in headless Chromium (test/helpers/browser.ts):
 *
 * - the Locks view shows a Mutex, an RWMutex (write holder and fence; readers counted) and a
 *   Semaphore (permits held of its capacity, and their holders), each with its kind, and follows
 *   them as they are released; a long list is capped, filtered and shown whole by keyboard;
 * - the UI reads a table of thousands of items once per tick for both the status and the runs
 *   list: exact calls per tick (CallCounter), what its projection reads equals what `fnmesh
 *   status` reads whole, and nothing is read while no page is open;
 * - on the deployed stack (stage local): a held lock of the counter demo shows its holder and
 *   fence while held, and the pool demo's channel counts move on the page while it runs.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshContext, type MeshContext } from '../../cli/context.ts';
import { channelQueues } from '../../cli/commands/dlq.ts';
import { counter } from '../../cli/demos/counter.ts';
import { pool } from '../../cli/demos/pool.ts';
import { runDemo } from '../../cli/demos/run.ts';
import type { Output } from '../../cli/output.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { readSnapshot, snapshotScanInput, UI_KINDS } from '../../cli/ui/snapshot.ts';
import { listTraces, summarizeTraces } from '../../cli/ui/traces.ts';
import { fillMeshTable, meshFillItems } from '../../bench/meshFill.ts';
import { STACK_CHANNELS } from '../../infra/stack.ts';
import { createMeshTable, deleteMeshTable, dynamodb } from '../../infra/localstack/resources.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import type { Item } from '../../lib/table/layout.ts';
import { listMeshItems } from '../../lib/table/reader.ts';
import { Tracer } from '../../lib/trace/Tracer.ts';
import { openChromium, screenshots } from '../helpers/browser.ts';
import { deployStack } from '../helpers/stack.ts';

const silent: Output = { json: true, say() {}, progress() {}, table() {}, result() {} };

let browser: BrowserContext;
let closeBrowser: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ browser, close: closeBrowser } = await openChromium());
}, 60_000);

afterAll(async () => {
  await closeBrowser?.();
});

/** The text of `row`'s cell `field`. */
const cell = (page: Page, row: string, field: string) => page.locator(`${row} [data-field="${field}"]`).first().textContent();

describe('fnmesh ui in Chromium: locks of every kind', () => {
  let tableName: string;
  let ui: UiServer;

  beforeAll(async () => {
    tableName = await createMeshTable('uilocks');
    const ctx = { ...meshContext('local'), tableName, tracer: new Tracer({ client: dynamodb, tableName }) };
    ui = await startUiServer({ data: meshUiData(ctx), assets: await loadUiAssets(), pollMs: 250 });
  }, 60_000);

  afterAll(async () => {
    await ui?.close();
    if (tableName) await deleteMeshTable(tableName);
  });

  it("shows an RWMutex's write holder and fence, its readers counted, and a Semaphore's permits held of its capacity, as they change", async () => {
    // Prepare
    const lease = { client: dynamodb, tableName, leaseMs: 60_000 };
    const writing = await new RWMutex({ ...lease, name: 'catalog', owner: 'ui-writer' }).lock();
    const reader1 = await new RWMutex({ ...lease, name: 'prices', owner: 'ui-reader-1' }).rLock();
    const reader2 = await new RWMutex({ ...lease, name: 'prices', owner: 'ui-reader-2' }).rLock();
    const permits2 = await new Semaphore({ ...lease, name: 'db-connections', capacity: 5, owner: 'ui-sem-a' }).acquire(2);
    const permits1 = await new Semaphore({ ...lease, name: 'db-connections', capacity: 5, owner: 'ui-sem-b' }).acquire(1);
    const mutex = await new Mutex({ ...lease, name: 'invoice-7', owner: 'ui-mutex' }).lock();
    const page = await browser.newPage();
    const catalog = '[data-lock="catalog"][data-kind="rwmutex"]';
    const prices = '[data-lock="prices"][data-kind="rwmutex"]';
    const semaphore = '[data-lock="db-connections"][data-kind="semaphore"]';
    try {
      // Act
      await page.goto(ui.url);
      await expect.poll(() => cell(page, catalog, 'holder'), { timeout: 15_000 }).toContain(writing.owner);
      const seen = {
        catalogKind: await cell(page, catalog, 'kind'),
        catalogFence: await cell(page, catalog, 'fence'),
        catalogLease: await cell(page, catalog, 'lease'),
        readers: await cell(page, prices, 'readers'),
        readerHolders: await page
          .locator(`${prices} [data-holder]`)
          .evaluateAll((items) => items.map((li) => li.getAttribute('data-holder'))),
        permits: await cell(page, semaphore, 'permits'),
        semaphoreKind: await cell(page, semaphore, 'kind'),
        semaphoreHolders: await page.locator(`${semaphore} [data-holder]`).count(),
        mutexKind: await cell(page, '[data-lock="invoice-7"]', 'kind'),
        mutexFence: await cell(page, '[data-lock="invoice-7"]', 'fence'),
      };
      await screenshots(page, 'locks');
      await reader2.unlock();
      await permits2.release();
      await writing.unlock();
      // Assess
      expect(seen).toEqual({
        catalogKind: 'RWMutex',
        catalogFence: String(writing.fence),
        catalogLease: expect.stringMatching(/^\d+(\.\d+)? s$/),
        readers: '2',
        readerHolders: [reader1.owner, reader2.owner].sort(),
        permits: '3/5',
        semaphoreKind: 'Semaphore',
        semaphoreHolders: 2,
        mutexKind: 'Mutex',
        mutexFence: String(mutex.fence),
      });
      expect(writing.fence).toBeGreaterThan(0);
      await expect.poll(() => cell(page, prices, 'readers'), { timeout: 10_000 }).toBe('1');
      await expect.poll(() => cell(page, semaphore, 'permits'), { timeout: 10_000 }).toBe('1/5');
      await expect.poll(() => cell(page, catalog, 'holder'), { timeout: 10_000 }).toBe('free');
      expect(await cell(page, catalog, 'fence')).toBe(String(writing.fence));
      expect(await cell(page, catalog, 'lease')).toBe('–');
    } finally {
      await page.close();
      for (const held of [reader1, reader2, writing, mutex]) await held.unlock().catch(() => undefined);
      for (const held of [permits1, permits2]) await held.release().catch(() => undefined);
    }
  }, 60_000);

  it('shows the first 50 of many locks, finds one by the filter and shows them all, by keyboard', async () => {
    // Prepare: 60 more locks (this table already has the 4 of the test above).
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const held = await new Mutex({ client: dynamodb, tableName, name: `bulk-${String(i).padStart(2, '0')}` }).lock();
        await held.unlock();
      }),
    );
    const page = await browser.newPage();
    try {
      await page.goto(ui.url);
      const rows = page.locator('#locks tbody tr');
      await expect.poll(() => page.locator('#locks-title .count').textContent(), { timeout: 15_000 }).toBe('64');
      const first = await rows.count();
      const button = page.locator('[data-many="locks"] button');
      const buttonText = await button.textContent();
      // Act: Tab to the filter and type; clear it; Tab to "show all" and press Enter.
      await page.getByLabel('Filter locks').focus();
      await page.keyboard.type('bulk-4');
      const filtered = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-lock')));
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Tab');
      const focused = await page.locator(':focus').textContent();
      await page.keyboard.press('Enter');
      // Assess
      expect(first).toBe(50);
      expect(buttonText).toBe('Show all 64');
      expect(filtered).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-4${i}`));
      expect(focused).toBe('Show all 64');
      await expect.poll(() => rows.count(), { timeout: 5000 }).toBe(64);
      expect(await page.locator('[data-many="locks"] [data-field="shown"]').textContent()).toBe('64 of 64');
    } finally {
      await page.close();
    }
  }, 60_000);
});

describe('fnmesh ui on a table of thousands of items', () => {
  let tableName: string;
  let fill: ReturnType<typeof meshFillItems>;

  beforeAll(async () => {
    tableName = await createMeshTable('uiscan');
    fill = meshFillItems(5000);
    await fillMeshTable(dynamodb, tableName, fill.items);
  }, 180_000);

  afterAll(async () => {
    if (tableName) await deleteMeshTable(tableName);
  });

  it('reads through its projection (and without) the same records and runs that `fnmesh status` and the runs list read', async () => {
    // Act
    const snapshot = await readSnapshot(dynamodb, tableName, { projection: true });
    const unprojected = await readSnapshot(dynamodb, tableName, { projection: false });
    const whole = await listMeshItems(dynamodb, tableName, { kinds: UI_KINDS });
    const runs = await listTraces(dynamodb, tableName, { limit: 500 });
    // Assess
    expect(snapshot.items).toEqual(whole);
    expect(unprojected.items).toEqual(whole);
    expect(summarizeTraces(snapshot.hops, 500)).toEqual(runs);
    expect(summarizeTraces(unprojected.hops, 500)).toEqual(runs);
    expect(snapshot.hops).toHaveLength(fill.counts.hop);
    expect(runs).toHaveLength(fill.counts.traces);
    expect(whole.mutexes).toHaveLength(fill.counts.mutex);
    expect(whole.rwMutexes).toHaveLength(fill.counts.rwMutex);
    expect(whole.semaphores).toHaveLength(fill.counts.semaphore);
    expect(whole.channels).toHaveLength(fill.counts.channel);
    expect(whole.groups).toHaveLength(fill.counts.group);
    // A projected hop carries only what a summary needs (no `detail`).
    expect(Object.keys(snapshot.hops[0]!).sort()).toEqual(['endedAt', 'kind', 'name', 'outcome', 'pk', 'sk', 'startedAt']);
  }, 120_000);

  it('reads a table of N pages in N Scan calls per snapshot, or that many per segment, and the segments together read it whole', async () => {
    // Prepare: the pages the raw SDK takes for the same Scan.
    const rawPages = async (segment?: number, total?: number) => {
      let pages = 0;
      let start: Item | undefined;
      do {
        const page = await dynamodb.send(
          new ScanCommand({
            ...snapshotScanInput(tableName),
            ...(total ? { Segment: segment, TotalSegments: total } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        pages++;
        start = page.LastEvaluatedKey;
      } while (start);
      return pages;
    };
    const counter = new CallCounter();
    const ctx = meshContext('local');
    counter.attach(ctx.dynamodb, 'DynamoDB');
    try {
      // Act
      const whole = await rawPages();
      const bySegment = await Promise.all([0, 1, 2].map((segment) => rawPages(segment, 3)));
      counter.reset();
      const one = await readSnapshot(ctx.dynamodb, tableName);
      const oneCalls = counter.snapshot();
      counter.reset();
      const three = await readSnapshot(ctx.dynamodb, tableName, { segments: 3 });
      const threeCalls = counter.snapshot();
      // Assess
      expect(whole).toBeGreaterThan(1); // the table is over 1 MB: a Scan needs several pages
      expect(oneCalls).toEqual({ 'DynamoDB.Scan': whole });
      expect(one.pages).toBe(whole);
      expect(threeCalls).toEqual({ 'DynamoDB.Scan': bySegment.reduce((a, b) => a + b, 0) });
      expect(three.items).toEqual(one.items);
      expect(three.hops).toHaveLength(one.hops.length);
    } finally {
      ctx.dynamodb.destroy();
      ctx.sqs.destroy();
      ctx.lambda.destroy();
    }
  }, 120_000);
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

describe('fnmesh ui in Chromium, on the deployed stack (stage local): locks, channels, calls per tick', () => {
  let stage: UiServer;
  let ctx: MeshContext;

  beforeAll(async () => {
    await deployStack();
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
    const page = await browser.newPage();
    const row = `[data-lock="${lockName}"][data-kind="mutex"]`;
    try {
      await page.goto(stage.url);
      // Act: the demo's workers wait on the lock the test holds; the page shows the test as its holder.
      const demo = runDemo(ctx, silent, 'counter', (run) => counter({ ...run, runId }, { workers, increments, unsafe: false }));
      await expect.poll(() => cell(page, row, 'holder'), { timeout: 20_000 }).toBe(blocker.owner);
      const heldFence = await cell(page, row, 'fence');
      const heldLease = await cell(page, row, 'lease');
      await blocker.unlock();
      const result = await demo;
      // Assess
      expect(heldFence).toBe(String(blocker.fence));
      expect(heldLease).toMatch(/^\d+(\.\d+)? s$/);
      expect(result).toMatchObject({ expected: workers * increments, actual: workers * increments, lostUpdates: 0 });
      // Every worker's increment was a grant of the same lock: the fence went on from the test's.
      await expect.poll(() => cell(page, row, 'fence'), { timeout: 10_000 }).toBe(String(blocker.fence + workers * increments));
      // (The last grant may show its holder first, then its unlock.)
      await expect.poll(() => cell(page, row, 'holder'), { timeout: 10_000 }).toBe('free');
    } finally {
      await page.close();
      await blocker.unlock().catch(() => undefined);
    }
  }, 180_000);

  it("shows the tasks and results channels' counts moving while the pool demo runs", async () => {
    // Prepare
    const tasks = 10;
    const page = await browser.newPage();
    try {
      await page.goto(stage.url);
      const sent = (channel: string) => cell(page, `[data-channel="${channel}"]`, 'sent').then(Number);
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
      await fillMeshTable(dynamodb, tableName, meshFillItems(5000, Date.now() + 3_600_000).items);
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
