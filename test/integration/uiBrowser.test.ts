/**
 * `fnmesh ui` in a real browser: headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; .ci/run installs it) opens the page the server prints, on a mesh table that
 * real primitives write to on LocalStack. The page must show a held lock's holder and fence, a
 * group's progress, a wait group's counter and a channel's counts moving live, and a run's hops as a waterfall; a page of another origin
 * must not be able to read the API, even knowing the token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshContext } from '../../cli/context.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createMeshTable, createQueue, deleteMeshTable, dynamodb, sqs, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';
import { Tracer } from '../../lib/trace/Tracer.ts';
import { runDemo } from '../../cli/demos/run.ts';
import { squares } from '../../cli/demos/squares.ts';
import type { Output } from '../../cli/output.ts';
import { chromiumForFile, screenshots, SCREENSHOTS } from '../helpers/browser.ts';

import { useTheStack } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

let tableName: string;
let ui: UiServer;
const chromium = chromiumForFile();
let elsewhere: Server;

beforeAll(async () => {
  tableName = await createMeshTable('ui');
  const ctx = { ...meshContext('local'), tableName, tracer: new Tracer({ client: dynamodb, tableName }) };
  ui = await startUiServer({ data: meshUiData(ctx), assets: await loadUiAssets(), pollMs: 250 });
  // Another origin on this machine (another port is another origin, and the same site).
  elsewhere = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'),
  );
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await ui?.close();
  elsewhere?.close();
  if (tableName) await deleteMeshTable(tableName);
});

describe('fnmesh ui in Chromium', () => {
  it('shows a held lock with holder, fence and a lease counting down; a group and a wait group progressing live', async () => {
    // Prepare
    const held = await new Mutex({ client: dynamodb, tableName, name: 'invoice-42', owner: 'ui-test', leaseMs: 60_000 }).lock();
    const waitGroup = new WaitGroup({ client: dynamodb, tableName, name: 'fan-out' });
    await waitGroup.add(4);
    // A Group's counter item as docs/item-format.md gives it (Group.go would need a deployed worker).
    const groupKey = { pk: { S: 'group#squares-1' }, sk: { S: 'group' } };
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...groupKey, v: { N: '1' }, started: { N: '4' }, pending: { N: '4' }, succeeded: { N: '0' }, failed: { N: '0' } },
      }),
    );
    const page = await chromium.newPage();
    try {
      // Act
      await page.goto(ui.url);
      const lock = page.locator('[data-lock="invoice-42"]');
      await expect.poll(() => lock.locator('[data-field="holder"]').textContent(), { timeout: 15_000 }).toBe(held.owner);
      const fence = await lock.locator('[data-field="fence"]').textContent();
      const leaseBefore = await lock.locator('[data-field="lease"]').textContent();
      await page.waitForTimeout(1200);
      const leaseAfter = await lock.locator('[data-field="lease"]').textContent();
      const progress = page.locator('[data-group="squares-1"] progress');
      const valueBefore = await progress.getAttribute('value');
      const counter = page.locator('[data-waitgroup="fan-out"] [data-field="count"]');
      const counterBefore = await counter.textContent();
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: groupKey,
          UpdateExpression: 'ADD pending :minus, succeeded :plus',
          ExpressionAttributeValues: { ':minus': { N: '-2' }, ':plus': { N: '2' } },
        }),
      );
      await waitGroup.done('t1');
      // Assess
      expect(fence).toBe(String(held.fence));
      expect(Number.parseFloat(leaseAfter!)).toBeLessThan(Number.parseFloat(leaseBefore!));
      expect(valueBefore).toBe('0');
      await expect.poll(() => progress.getAttribute('value'), { timeout: 10_000 }).toBe('2');
      expect(await progress.getAttribute('max')).toBe('4');
      expect(counterBefore).toBe('4');
      await expect.poll(() => counter.textContent(), { timeout: 10_000 }).toBe('3');
      await screenshots(page, 'mesh');
      expect(await page.locator('[data-channel="tasks"]').count()).toBe(1);
      expect(await page.locator('.live').textContent()).toMatch(/^live/);
    } finally {
      await page.close();
      await held.unlock();
    }
  });

  it("shows a channel's counts changing as values are sent, received and the channel closed", async () => {
    // Prepare
    const queue = await createQueue('ui');
    const name = `orders-${uniqueSuffix()}`;
    const channel = new Channel<number>({ sqs, dynamodb, tableName, name, queueUrl: queue.queueUrl, waitTimeSeconds: 1 });
    const page = await chromium.newPage();
    try {
      await page.goto(ui.url);
      const row = page.locator(`[data-channel="${name}"]`);
      const queued = row.locator('[data-field="queued"]');
      // Act
      await channel.send(1);
      await channel.send(2);
      await channel.send(3);
      // Assess
      await expect.poll(() => queued.textContent(), { timeout: 15_000 }).toBe('3');
      // Act
      expect((await channel.receive()).ok).toBe(true);
      await channel.close();
      // Assess
      await expect.poll(() => queued.textContent(), { timeout: 10_000 }).toBe('2');
      await expect.poll(() => row.locator('.badge').textContent(), { timeout: 10_000 }).toBe('closed');
    } finally {
      await page.close();
      await queue.remove();
    }
  });

  it('lists a recorded run and draws its hops as a waterfall, by keyboard', async () => {
    // Prepare
    const tracer = new Tracer({ client: dynamodb, tableName });
    const traceId = `ui-${Date.now().toString(36)}`;
    const start = Date.now() - 1000;
    const driver = await tracer.record({ traceId, kind: 'driver', name: 'demo squares', startedAt: start, endedAt: start + 900 });
    await tracer.record({ traceId, parent: driver, kind: 'group', name: 'go square', startedAt: start + 100, endedAt: start + 200 });
    await tracer.record({
      traceId,
      parent: driver,
      kind: 'function',
      name: 'square',
      startedAt: start + 250,
      endedAt: start + 600,
      outcome: 'Error',
    });
    const page = await chromium.newPage();
    try {
      // Act
      await page.goto(ui.url);
      const link = page.locator(`[data-trace="${traceId}"] a`);
      await link.waitFor({ timeout: 15_000 });
      await link.focus();
      await page.keyboard.press('Enter');
      await page.locator('table.waterfall tbody tr').first().waitFor({ timeout: 10_000 });
      // Assess
      expect(await page.locator('table.waterfall tbody tr').count()).toBe(3);
      expect(await page.locator('table.waterfall tbody tr.failed').count()).toBe(1);
      await screenshots(page, 'run');
      expect(await page.locator('#trace-title').evaluate((heading) => heading === heading.ownerDocument.activeElement)).toBe(true);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.locator('#channels').waitFor({ timeout: 10_000 });
      expect(new URL(page.url()).hash).toContain(`token=${ui.token}`);
    } finally {
      await page.close();
    }
  });

  it("refuses another origin's page, even one that knows the token", async () => {
    // Prepare
    const page = await chromium.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`);
      // Act
      const outcome = await page.evaluate(
        async ({ origin, token }) => {
          const tries = [
            fetch(`${origin}/api/status?token=${token}`),
            fetch(`${origin}/api/status`, { headers: { 'X-Fnmesh-Token': token } }),
          ];
          const read = await Promise.allSettled(tries.map((attempt) => attempt.then((response) => response.text())));
          // Not even an opaque answer: Cross-Origin-Resource-Policy: same-origin blocks it.
          const blind = await fetch(`${origin}/api/status?token=${token}`, { mode: 'no-cors' }).then(
            (response) => response.type,
            () => 'blocked',
          );
          return { read: read.map((each) => each.status), blind };
        },
        { origin: `http://127.0.0.1:${ui.port}`, token: ui.token },
      );
      // Assess
      expect(outcome.read).toEqual(['rejected', 'rejected']);
      expect(outcome.blind).toBe('blocked');
    } finally {
      await page.close();
    }
  });
});

describe('fnmesh ui in Chromium, on the deployed stack (stage local)', () => {
  let stage: UiServer;

  beforeAll(async () => {
    stage = await startUiServer({ data: meshUiData(meshContext('local')), assets: await loadUiAssets(), pollMs: 200 });
  }, 300_000);

  afterAll(async () => {
    await stage?.close();
  });

  it("follows a running squares fan-out: its group's progress advances to every task", async () => {
    // Prepare
    const tasks = 12;
    const silent: Output = { json: true, say() {}, progress() {}, table() {}, result() {} };
    const page = await chromium.newPage();
    try {
      await page.goto(stage.url);
      await page.locator('#channels').waitFor({ timeout: 20_000 });
      const before = new Set(
        await page.locator('[data-group^="squares-"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-group'))),
      );
      // Act
      const run = runDemo(meshContext('local'), silent, 'squares', (demo) => squares(demo, { tasks, failOnce: [] }));
      const seen: number[] = [];
      let group: string | null = null;
      for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
        const ids = await page.locator('[data-group^="squares-"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-group')));
        group ??= ids.find((id) => id && !before.has(id)) ?? null;
        if (group) {
          const value = Number(await page.locator(`[data-group="${group}"] progress`).getAttribute('value'));
          if (seen.at(-1) !== value) seen.push(value);
          if (value === tasks) break;
        }
        await page.waitForTimeout(100);
      }
      const result = await run;
      if (SCREENSHOTS) await screenshots(page, 'squares');
      // Assess
      expect(result.results).toHaveLength(tasks);
      expect(group).not.toBeNull();
      expect(seen.at(-1)).toBe(tasks);
      // It moved while the page watched: the bar showed at least one value short of the end, and never went back.
      expect(seen.length).toBeGreaterThan(1);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    } finally {
      await page.close();
    }
  }, 180_000);
});
