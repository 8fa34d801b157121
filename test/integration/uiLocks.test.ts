/**
 * `fnmesh ui` for locks of every kind and for a busy table, on LocalStack with the real SDK
 * clients, the page in headless Chromium (test/helpers/browser.ts):
 *
 * - the Locks view shows a Mutex, an RWMutex (write holder and fence; readers counted) and a
 *   Semaphore (permits held of its capacity, and their holders), each with its kind, and follows
 *   them as they are released; a long list is capped, filtered and shown whole by keyboard;
 * - the UI reads a table of thousands of items in exactly its pages of Scan calls, and what its
 *   projection reads equals what `fnmesh status` reads whole.
 *
 * The UI on the deployed stack (demos, calls per tick) is in uiStack.test.ts.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshContext } from '../../cli/context.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { readSnapshot, snapshotScanInput, UI_KINDS } from '../../cli/ui/snapshot.ts';
import { listTraces, summarizeTraces } from '../../cli/ui/traces.ts';
import { fillMeshTable, meshFillItems } from '../../bench/meshFill.ts';
import { createMeshTable, deleteMeshTable, dynamodb } from '../../infra/localstack/resources.ts';
import { CallCounter } from '../../lib/faults/callCounter.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { RWMutex } from '../../lib/sync/RWMutex.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import type { Item } from '../../lib/table/layout.ts';
import { listMeshItems } from '../../lib/table/reader.ts';
import { Tracer } from '../../lib/trace/Tracer.ts';
import { cellText, chromiumForFile, screenshots } from '../helpers/browser.ts';

import { useTheStack } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const chromium = chromiumForFile();

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
    const page = await chromium.newPage();
    const catalog = '[data-lock="catalog"][data-kind="rwmutex"]';
    const prices = '[data-lock="prices"][data-kind="rwmutex"]';
    const semaphore = '[data-lock="db-connections"][data-kind="semaphore"]';
    try {
      // Act
      await page.goto(ui.url);
      await expect.poll(() => cellText(page, catalog, 'holder'), { timeout: 15_000 }).toContain(writing.owner);
      const seen = {
        catalogKind: await cellText(page, catalog, 'kind'),
        catalogFence: await cellText(page, catalog, 'fence'),
        catalogLease: await cellText(page, catalog, 'lease'),
        readers: await cellText(page, prices, 'readers'),
        readerHolders: await page
          .locator(`${prices} [data-holder]`)
          .evaluateAll((items) => items.map((li) => li.getAttribute('data-holder'))),
        permits: await cellText(page, semaphore, 'permits'),
        semaphoreKind: await cellText(page, semaphore, 'kind'),
        semaphoreHolders: await page.locator(`${semaphore} [data-holder]`).count(),
        mutexKind: await cellText(page, '[data-lock="invoice-7"]', 'kind'),
        mutexFence: await cellText(page, '[data-lock="invoice-7"]', 'fence'),
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
      await expect.poll(() => cellText(page, prices, 'readers'), { timeout: 10_000 }).toBe('1');
      await expect.poll(() => cellText(page, semaphore, 'permits'), { timeout: 10_000 }).toBe('1/5');
      await expect.poll(() => cellText(page, catalog, 'holder'), { timeout: 10_000 }).toBe('free');
      expect(await cellText(page, catalog, 'fence')).toBe(String(writing.fence));
      expect(await cellText(page, catalog, 'lease')).toBe('–');
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
    const page = await chromium.newPage();
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

describe('fnmesh ui on a table of several pages', () => {
  let tableName: string;
  let fill: ReturnType<typeof meshFillItems>;

  beforeAll(async () => {
    tableName = await createMeshTable('uiscan');
    // Over 1 MB (several Scan pages) in a thousand items: hops carry 1.5 KB of log each.
    fill = meshFillItems(1000, Date.now(), { hopLogBytes: 1500 });
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
