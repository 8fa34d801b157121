/**
 * The Topology view on the deployed stack (stage local): `GET /api/topology` must give exactly
 * the stack's functions, queues and table and exactly the edges serverless.yml and
 * infra/resources/*.yml wire (written out below, one by one), and the page in headless Chromium
 * must draw every node and edge, reach the nodes by keyboard with their numbers in their names,
 * and follow a function's invocations and errors (CloudWatch AWS/Lambda, which LocalStack
 * publishes) and a queue's count live after real invocations.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { meshContext } from '../../cli/context.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData, type UiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { topologyReader } from '../../cli/ui/topologyRead.ts';
import type { ApiTopology } from '../../cli/ui/web/types.ts';
import { CHANNELS, channelQueueNames, FUNCTIONS, MESH_TABLE, STACK_CHANNELS } from '../../infra/stack.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { MeshConfigError } from '../../lib/errors.ts';
import { chromiumForFile, screenshots } from '../helpers/browser.ts';
import { useTheStack, withPingChannel } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

/** Every queue of the stack: the channels', their dead-letter queues, and the tracked workers' task-failures pair. */
const QUEUES = [
  ...new Set([
    ...STACK_CHANNELS.flatMap((channel) => Object.values(channelQueueNames(channel)).filter((name) => typeof name === 'string')),
    'task-failures',
    'task-failures-dlq',
  ]),
];

/**
 * The stack's edges, as serverless.yml and infra/ declare them (labels: names without `fnmesh-local-`).
 * Functions invoked from outside only (ping, quoter, counter: by the driver, rpc, go) have no edge
 * from another function: no function of this stack may invoke another (no lambda:InvokeFunction).
 */
const EDGES = [
  // functions.<name>.events: sqs → an event source mapping.
  'smoke -trigger-> record',
  'tasks -trigger-> worker',
  'task-failures -trigger-> taskfailures',
  'shard-0 -trigger-> shard',
  'shard-1 -trigger-> shard',
  'shard-2 -trigger-> shard',
  'shard-3 -trigger-> shard',
  // infra/iam/roles.yml: sqs:SendMessage (channel: ch <- 10 on ping; worker: results).
  'channel -sends-> ping',
  'worker -sends-> results',
  // destinations.onFailure of the tracked workers (their SendMessage grant is that destination's).
  'hello -on-failure-> task-failures',
  'square -on-failure-> task-failures',
  // RedrivePolicy (the shards share one dead-letter queue).
  'smoke -dead-letter-> smoke-dlq',
  'ping -dead-letter-> ping-dlq',
  'tasks -dead-letter-> tasks-dlq',
  'results -dead-letter-> results-dlq',
  'shard-0 -dead-letter-> shards-dlq',
  'shard-1 -dead-letter-> shards-dlq',
  'shard-2 -dead-letter-> shards-dlq',
  'shard-3 -dead-letter-> shards-dlq',
  'task-failures -dead-letter-> task-failures-dlq',
  // infra/iam/roles.yml: DynamoDB item actions on the mesh table (ping has none).
  'record -table(write)-> mesh',
  'hello -table(write)-> mesh',
  'channel -table(write)-> mesh',
  'quoter -table(write)-> mesh',
  'counter -table(read-write)-> mesh',
  'square -table(write)-> mesh',
  'taskfailures -table(write)-> mesh',
  'worker -table(read-write)-> mesh',
  'shard -table(read-write)-> mesh',
].sort();

function edgesOf(topology: ApiTopology): string[] {
  const label = new Map(topology.nodes.map((node) => [node.id, node.label]));
  return topology.edges
    .map((edge) => `${label.get(edge.from)} -${edge.kind}${edge.access ? `(${edge.access})` : ''}-> ${label.get(edge.to)}`)
    .sort();
}

let data: UiData;
let ui: UiServer;
const chromium = chromiumForFile();
const ctx = meshContext('local');

beforeAll(async () => {
  data = meshUiData(ctx);
  ui = await startUiServer({ data, assets: await loadUiAssets(), pollMs: 250 });
}, 300_000);

afterAll(async () => {
  await ui?.close();
  data?.close?.();
});

/** The `data-node` of the element that has the keyboard focus (null if none has one). */
const focusedNode = (page: Page) => page.locator(':focus').evaluateAll((elements) => elements[0]?.getAttribute('data-node') ?? null);

/** A number the page shows (`–` or missing: NaN). */
const numberAt = async (page: Page, selector: string) => Number(await page.locator(selector).first().textContent({ timeout: 5_000 }));

describe('fnmesh ui topology, on the deployed stack (stage local)', () => {
  it('reads the stack template into exactly its functions, queues, table and edges', async () => {
    // Act
    const topology = await data.topology({});
    // Assess
    expect(topology).toMatchObject({
      stage: 'local',
      stackName: 'fnmesh-local',
      templateStage: 'Processed',
      windowMinutes: 15,
      problems: [],
      notes: [],
    });
    const nodes = (kind: string) =>
      topology.nodes
        .filter((node) => node.kind === kind)
        .map((node) => node.label)
        .sort();
    expect(nodes('function')).toEqual(Object.values(FUNCTIONS).sort());
    expect(nodes('queue')).toEqual([...QUEUES].sort());
    expect(nodes('table')).toEqual([MESH_TABLE]);
    expect(edgesOf(topology)).toEqual(EDGES);
    // Live numbers: every function's counts and every queue's were read.
    for (const node of topology.nodes) {
      if (node.kind === 'function')
        expect([node.label, typeof node.invocations, typeof node.errors]).toEqual([node.label, 'number', 'number']);
      if (node.kind === 'queue') expect([node.label, typeof node.queued, typeof node.inFlight]).toEqual([node.label, 'number', 'number']);
    }
  });

  it('refuses a stack that is not deployed with a MeshConfigError naming it', async () => {
    // Prepare
    const reader = topologyReader(ctx, { stackName: 'fnmesh-not-deployed' });
    try {
      // Act
      const read = reader.read({});
      // Assess
      await expect(read).rejects.toThrow(MeshConfigError);
      await expect(read).rejects.toThrow(/stack fnmesh-not-deployed cannot be read: .*does not exist/);
    } finally {
      reader.close();
    }
  });

  it('draws every function, queue and edge; a node is reached by keyboard and names its numbers and connections', async () => {
    // Prepare
    const page = await chromium.newPage();
    try {
      // Act
      await page.goto(ui.url);
      await page.locator('[data-node="worker"]').waitFor({ timeout: 30_000 });
      // Assess: the section is first in the nav and on the page.
      expect(await page.locator('header nav a').first().textContent()).toBe('Topology');
      expect(await page.locator('main > section').first().getAttribute('id')).toBe('topology');
      const drawn = (kind: string) =>
        page
          .locator(`svg.topology [data-kind="${kind}"][data-node]`)
          .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-node')).sort());
      expect(await drawn('function')).toEqual(Object.values(FUNCTIONS).sort());
      expect(await drawn('queue')).toEqual([...QUEUES].sort());
      expect(await drawn('table')).toEqual([MESH_TABLE]);
      const edges = await page
        .locator('svg.topology path[data-edge]')
        .evaluateAll((paths) => paths.map((path) => `${path.getAttribute('data-edge')} ${path.getAttribute('data-kind')}`).sort());
      expect(edges).toEqual(EDGES.map((edge) => edge.replace(/^(\S+) -([a-z-]+)(?:\([a-z-]+\))?-> (\S+)$/, '$1>$3 $2')).sort());

      // Keyboard: from the section's heading, Tab reaches the graph's nodes, then the worker.
      await page.locator('#topology-title').focus();
      await page.keyboard.press('Tab');
      expect(await focusedNode(page)).toBeTruthy();
      for (let presses = 0; presses < 40; presses++) {
        if ((await focusedNode(page)) === FUNCTIONS.worker) break;
        await page.keyboard.press('Tab');
      }
      const focused = page.locator(':focus');
      expect(await focused.getAttribute('data-node')).toBe(FUNCTIONS.worker);
      expect(await focused.getAttribute('aria-label')).toMatch(
        /^function worker: \d+ invocations?, \d+ errors? in the last 15 minutes; triggered by tasks; sends to results; uses table mesh \(read-write\)$/,
      );
      // Its edges are highlighted, the others not.
      const hot = await page
        .locator('svg.topology path.edge.hot')
        .evaluateAll((paths) => paths.map((path) => path.getAttribute('data-edge')).sort());
      expect(hot).toEqual(['tasks>worker', 'worker>mesh', 'worker>results']);
      // The text alternative has the same rows.
      expect(await page.locator('[data-function="worker"] td').allTextContents()).toEqual([
        expect.stringMatching(/^\d+$/),
        expect.stringMatching(/^\d+$/),
        'tasks',
        'results',
        'mesh (read-write)',
      ]);
    } finally {
      await page.close();
    }
  });

  it(
    "follows a function's invocations and errors and a queue's count live after real invocations",
    () =>
      withPingChannel(async () => {
        // Prepare
        const page = await chromium.newPage();
        const invocations = '[data-kind="function"][data-node="channel"] [data-field="invocations"]';
        const errors = '[data-kind="function"][data-node="channel"] [data-field="errors"]';
        const queued = '[data-kind="queue"][data-node="ping"] [data-field="queued"]';
        const sentIds: string[] = [];
        try {
          await page.goto(ui.url);
          await expect.poll(() => numberAt(page, invocations), { timeout: 30_000 }).not.toBeNaN();
          const before = {
            invocations: await numberAt(page, invocations),
            errors: await numberAt(page, errors),
            queued: await numberAt(page, queued),
          };
          // Act: the channel function sends on the ping channel twice (nobody consumes it), then fails once on a bad value.
          for (const value of [7, 8]) {
            const answer = await ctx.lambda.send(
              new InvokeCommand({ FunctionName: ctx.functionName(FUNCTIONS.channel), Payload: JSON.stringify({ value }) }),
            );
            expect(answer.FunctionError).toBeUndefined();
            sentIds.push((JSON.parse(Buffer.from(answer.Payload!).toString()) as { messageId: string }).messageId);
          }
          const failed = await ctx.lambda.send(
            new InvokeCommand({ FunctionName: ctx.functionName(FUNCTIONS.channel), Payload: JSON.stringify({ value: 'not a number' }) }),
          );
          // Assess: the page shows the new counts by itself (it re-reads every 2 s).
          expect(failed.FunctionError).toBe('Unhandled');
          await expect.poll(() => numberAt(page, invocations), { timeout: 30_000 }).toBeGreaterThanOrEqual(before.invocations + 3);
          await expect.poll(() => numberAt(page, errors), { timeout: 30_000 }).toBeGreaterThanOrEqual(before.errors + 1);
          await expect.poll(() => numberAt(page, queued), { timeout: 30_000 }).toBeGreaterThanOrEqual(before.queued + 2);
          // The table alternative agrees with the drawing.
          expect(await numberAt(page, '[data-function="channel"] [data-field="invocations"]')).toBe(await numberAt(page, invocations));
          await page.locator('#topology-title').scrollIntoViewIfNeeded();
          await screenshots(page, 'topology');
        } finally {
          await page.close();
          // The two values sent on ping are taken off again, through the channel (its counters stay right).
          const ping = new Channel({
            sqs: ctx.sqs,
            dynamodb: ctx.dynamodb,
            tableName: ctx.tableName,
            name: CHANNELS.ping,
            queueUrl: await ctx.queueUrl(CHANNELS.ping),
            schema: z.number().int(),
            waitTimeSeconds: 1,
          });
          const signal = AbortSignal.timeout(20_000);
          const pending = new Set(sentIds);
          while (pending.size > 0 && !signal.aborted) {
            const { ok, envelope } = await ping.receive({ signal }).catch(() => ({ ok: false, envelope: undefined }));
            if (ok && envelope) pending.delete(envelope.id);
          }
        }
      }), // the channel function sends on ping, and the test takes its values back off
    180_000,
  );
});
