/**
 * The CLI's status, dlq and trace commands against the deployed stage `local` (its mesh table and
 * queues). Everything a test creates is named uniquely and removed again.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters, redriveDeadLetters } from '../../cli/commands/dlq.ts';
import { status } from '../../cli/commands/status.ts';
import { showTrace } from '../../cli/commands/trace.ts';
import { meshContext } from '../../cli/context.ts';
import type { Output } from '../../cli/output.ts';
import { encodeEnvelope, envelopeOf, newTraceId } from '../../lib/channel/envelope.ts';
import { MeshConfigError } from '../../lib/errors.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { type Key, keys } from '../../lib/table/layout.ts';
import { uniqueSuffix } from '../../infra/localstack/resources.ts';
import { holdPingChannel, useTheStack } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const ctx = meshContext('local');

/** Removes items a test wrote to the stage's mesh table (a test lock, test hops). */
async function deleteItems(itemKeys: readonly Key[]): Promise<void> {
  await Promise.all(itemKeys.map((Key) => ctx.dynamodb.send(new DeleteItemCommand({ TableName: ctx.tableName, Key }))));
}

/** Like `output(true)`, but silent: the tests read the returned documents. */
const silent: Output = { json: true, say() {}, progress() {}, table() {}, result() {} };

/** A terminal Output that records what it would print. */
function capture() {
  const lines: string[] = [];
  const tables: { head: string[]; rows: (string | number)[][] }[] = [];
  const out: Output = {
    json: false,
    say: (line) => void lines.push(line),
    progress() {},
    table: (head, rows) => void tables.push({ head, rows }),
    result: (_document, summary) => summary?.(),
  };
  return { out, lines, tables };
}

/**
 * Deletes the messages of a queue whose body contains `marker`, until `count` are gone (or only
 * while any are there, with count 0); others are made visible again at once.
 */
async function removeMarked(queueUrl: string, marker: string, count: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let removed = 0;
  while (Date.now() < deadline) {
    const { Messages = [] } = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 20 }),
    );
    if (!Messages.length && removed >= count) break;
    const ours = Messages.filter((message) => message.Body?.includes(marker));
    const others = Messages.filter((message) => !message.Body?.includes(marker));
    if (ours.length) {
      await ctx.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: ours.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      removed += ours.length;
    }
    if (others.length) {
      await ctx.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: others.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
    }
    if (removed >= count && !ours.length) break;
  }
  return removed;
}

describe('fnmesh status', () => {
  it('shows the stack channels, a held lock with its holder, fence and lease, and the groups', async () => {
    const mutex = new Mutex({ client: ctx.dynamodb, tableName: ctx.tableName, name: `cli-test-${uniqueSuffix()}`, leaseMs: 15_000 });
    const held = await mutex.lock();
    try {
      const document = await status(ctx, silent);

      expect(Object.keys(document).sort()).toEqual(['channels', 'groups', 'locks', 'strict']);
      expect(document.strict).toEqual({ enabled: expect.any(Boolean), settings: expect.any(Object), counts: expect.any(Object) });
      const names = document.channels.map((channel) => channel.name);
      expect(names.slice(0, 7)).toEqual(['ping', 'tasks', 'results', 'shard-0', 'shard-1', 'shard-2', 'shard-3']);
      for (const channel of document.channels) {
        expect(Object.keys(channel).sort()).toEqual(['abandoned', 'closed', 'dlqDepth', 'name', 'queued', 'received', 'sent']);
        expect(typeof channel.queued).toBe('number');
        expect(typeof channel.closed).toBe('boolean');
      }
      for (const name of ['ping', 'tasks', 'results']) {
        expect(document.channels.find((channel) => channel.name === name)?.dlqDepth).toEqual(expect.any(Number));
      }

      const lock = document.locks.find((row) => row.name === mutex.name);
      expect(lock).toEqual({ name: mutex.name, kind: 'mutex', holder: held.owner, fence: held.fence, leaseLeftMs: expect.any(Number) });
      expect(lock!.leaseLeftMs).toBeGreaterThan(0);
      expect(lock!.leaseLeftMs).toBeLessThanOrEqual(15_000);
      for (const group of document.groups) {
        expect(Object.keys(group).sort()).toEqual(['failed', 'firstError', 'id', 'pending', 'started', 'succeeded']);
      }

      await held.unlock();
      const after = await status(ctx, silent);
      expect(after.locks.find((row) => row.name === mutex.name)).toEqual({
        name: mutex.name,
        kind: 'mutex',
        holder: null,
        fence: held.fence,
        leaseLeftMs: null,
      });
    } finally {
      await held.unlock().catch(() => undefined);
      await deleteItems([keys.mutex(mutex.name)]);
    }
  });

  it("prints a table each of channels, locks and groups (and strict mode's adversities, when on), and a summary", async () => {
    const { out, tables, lines } = capture();
    const document = await status(ctx, out);

    const adversities = document.strict?.enabled ? ['adversity'] : [];
    expect(tables.map((table) => table.head[0])).toEqual(['channel', 'lock', 'group', ...adversities]);
    expect(tables[0]!.rows).toHaveLength(document.channels.length);
    expect(lines.at(-1)).toMatch(/^\d+ channels .* locks .* groups/);
  });
});

describe('fnmesh dlq', () => {
  let releasePing: (() => void) | undefined;
  beforeAll(async () => {
    releasePing = await holdPingChannel(); // these tests list and redrive the ping channel's dead letters
  });
  afterAll(() => releasePing?.());

  it('lists the ping dead letters without removing them, then redrives them to the ping queue', async () => {
    const marker = `cli-test-${uniqueSuffix()}`;
    const [deadLetterUrl, pingUrl] = await Promise.all([ctx.queueUrl('ping-dlq'), ctx.queueUrl('ping')]);
    const envelope = envelopeOf({ marker });
    await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLetterUrl,
        MessageBody: encodeEnvelope(envelope),
        MessageAttributes: { 'fnmesh-reason': { DataType: 'String', StringValue: `malformed envelope at body: ${marker}` } },
      }),
    );
    await ctx.sqs.send(new SendMessageCommand({ QueueUrl: deadLetterUrl, MessageBody: `not an envelope ${marker}` }));
    try {
      const listed = await listDeadLetters(ctx, 'ping', silent, { max: 100 });
      expect(listed.channel).toBe('ping');
      expect(listed.queue).toBe('fnmesh-local-ping-dlq');
      const mine = listed.messages.find((letter) => typeof letter.body !== 'string' && letter.body.id === envelope.id);
      expect(mine).toMatchObject({
        reason: `malformed envelope at body: ${marker}`,
        body: { traceId: envelope.traceId, body: { marker } },
      });
      expect(mine!.receiveCount).toBeGreaterThanOrEqual(1);
      expect(listed.messages.find((letter) => letter.body === `not an envelope ${marker}`)).toMatchObject({ reason: null });

      // A peek leaves them in the queue, visible.
      const again = await listDeadLetters(ctx, 'ping', silent, { max: 100 });
      expect(again.messages.map((letter) => letter.messageId)).toEqual(expect.arrayContaining([mine!.messageId]));

      const redriven = await redriveDeadLetters(ctx, 'ping', silent);
      expect(redriven).toMatchObject({ channel: 'ping', queue: 'fnmesh-local-ping', failed: 0, skipped: 0, duplicated: 0 });
      expect(redriven.moved).toBeGreaterThanOrEqual(2);
      expect((await listDeadLetters(ctx, 'ping', silent)).messages).toEqual([]);

      // Both are on the ping queue now; the reason attribute stayed behind.
      expect(await removeMarked(pingUrl, marker, 2)).toBe(2);
    } finally {
      await removeMarked(deadLetterUrl, marker, 0, 5_000);
      await removeMarked(pingUrl, marker, 0, 5_000);
    }
  });

  it("leaves another shard's messages on the shared shards dead-letter queue", async () => {
    const marker = `cli-test-${uniqueSuffix()}`;
    const deadLetterUrl = await ctx.queueUrl('shards-dlq');
    await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLetterUrl,
        MessageBody: `from shard-1 ${marker}`,
        MessageAttributes: { 'fnmesh-channel': { DataType: 'String', StringValue: 'shard-1' } },
      }),
    );
    try {
      const listed = await listDeadLetters(ctx, 'shard-2', silent, { max: 100 });
      expect(listed.queue).toBe('fnmesh-local-shards-dlq');
      expect(listed.messages.find((letter) => letter.body === `from shard-1 ${marker}`)).toMatchObject({ source: 'shard-1' });

      const redriven = await redriveDeadLetters(ctx, 'shard-2', silent);
      expect(redriven).toMatchObject({ channel: 'shard-2', queue: 'fnmesh-local-shard-2', deadLetterQueue: 'fnmesh-local-shards-dlq' });
      expect(redriven.skipped).toBeGreaterThanOrEqual(1);
      const still = await listDeadLetters(ctx, 'shard-2', silent, { max: 100 });
      expect(still.messages.map((letter) => letter.body)).toContain(`from shard-1 ${marker}`);
    } finally {
      expect(await removeMarked(deadLetterUrl, marker, 1)).toBe(1);
    }
  });

  it('refuses an unknown channel with the list of known ones', async () => {
    const error = await listDeadLetters(ctx, 'nope', silent).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toMatch(/ping, tasks, results, smoke, shard-0, shard-1, shard-2, shard-3/);
    await expect(redriveDeadLetters(ctx, 'nope', silent)).rejects.toBeInstanceOf(MeshConfigError);
  });
});

describe('fnmesh trace', () => {
  it('shows the hops in start order with offsets and durations, indented under their parents', async () => {
    const traceId = newTraceId();
    const t0 = Date.now() - 10_000;
    const driver = randomUUID();
    // Recorded out of order: the document is in start order.
    await ctx.tracer.record({
      traceId,
      parent: driver,
      kind: 'channel',
      name: 'send ping',
      startedAt: t0 + 100,
      endedAt: t0 + 120,
      detail: { count: 1 },
    });
    await ctx.tracer.record({ traceId, hopId: driver, kind: 'driver', name: 'demo test', startedAt: t0, endedAt: t0 + 300 });
    await ctx.tracer.record({
      traceId,
      parent: driver,
      kind: 'function',
      name: 'worker',
      startedAt: t0 + 50,
      endedAt: t0 + 250,
      outcome: 'LockLostError',
    });

    const { out, tables } = capture();
    const document = await showTrace(ctx, traceId, out);
    await deleteItems(document.hops.map((hop) => keys.traceHop(traceId, hop.startedAt, hop.hopId)));

    expect(document).toMatchObject({ traceId, startedAt: t0, durationMs: 300 });
    expect(document.hops.map(({ kind, name, offsetMs, durationMs, outcome }) => ({ kind, name, offsetMs, durationMs, outcome }))).toEqual([
      { kind: 'driver', name: 'demo test', offsetMs: 0, durationMs: 300, outcome: 'ok' },
      { kind: 'function', name: 'worker', offsetMs: 50, durationMs: 200, outcome: 'LockLostError' },
      { kind: 'channel', name: 'send ping', offsetMs: 100, durationMs: 20, outcome: 'ok' },
    ]);
    expect(document.hops[0]).toMatchObject({ hopId: driver, parent: null, detail: null, startedAt: t0 });
    expect(document.hops[2]).toMatchObject({ parent: driver, detail: { count: 1 } });

    const rows = tables[0]!.rows;
    expect(rows.map((row) => row[0])).toEqual(['+0 ms', '+50 ms', '+100 ms']);
    expect(rows[0]![3]).toBe('demo test');
    expect(rows[1]![3]).toBe('  worker');
    expect(rows[0]![5]).toBe(`|${'='.repeat(30)}|`);
    expect(rows[2]![5]).toBe(`|${' '.repeat(10)}==${' '.repeat(18)}|`);
  });

  it('refuses a trace id with no hops', async () => {
    const traceId = newTraceId();
    const error = await showTrace(ctx, traceId, silent).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toContain(`no hops were recorded for trace ${traceId}`);
  });
});
