/**
 * From a failed hop to its logs, on the deployed stack (stage local): the stack's `channel`
 * function is invoked with a value it refuses (InvalidInputError), inside a trace. Its hop must
 * carry the invocation's log group, stream and request id; `fnmesh trace` prints them; the API
 * returns that invocation's lines from CloudWatch Logs (LocalStack's), its error line among them
 * and no line of another invocation on the same stream; and the page's waterfall opens them in
 * place from the failed hop's "logs" button.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showTrace, type TraceDocument } from '../../cli/commands/trace.ts';
import { meshContext } from '../../cli/context.ts';
import type { Output } from '../../cli/output.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { newTraceId } from '../../lib/channel/envelope.ts';
import { chromiumForFile, screenshots } from '../helpers/browser.ts';
import { useTheStack, withPingChannel } from '../helpers/stack.ts';
import { eventually } from '../helpers/eventually.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const ctx = meshContext('local');
const data = meshUiData(ctx);
let ui: UiServer;
const chromium = chromiumForFile();

beforeAll(async () => {
  ui = await startUiServer({ data, assets: await loadUiAssets(), pollMs: 1000 });
}, 300_000);

afterAll(async () => {
  await ui?.close();
});

/** Invokes the stack's `channel` function in a trace; @returns the invocation's request id and whether it failed. */
async function invokeChannel(value: unknown, traceId: string): Promise<{ requestId: string; error: string | undefined }> {
  const answer = await ctx.lambda.send(
    new InvokeCommand({ FunctionName: ctx.functionName('channel'), Payload: Buffer.from(JSON.stringify({ value, trace: { traceId } })) }),
  );
  return { requestId: answer.$metadata.requestId!, error: answer.FunctionError };
}

describe("a failed hop's logs, on the deployed stack", () => {
  it('records where the logs are on the hop; fnmesh trace prints them; the API and the page show the error line', async () => {
    // Prepare: a good invocation (its lines share the stream), then the failing one.
    const traceId = newTraceId();
    // The good one sends on the stack's ping channel: held meanwhile (test/helpers/stack.ts).
    const [good, failed] = await withPingChannel(async () => [
      await invokeChannel(7, newTraceId()),
      await invokeChannel('not a number', traceId),
    ]);
    expect(good.error).toBeUndefined();
    expect(failed.error).toBe('Unhandled');

    // Act: the hop, as `fnmesh trace` reads and prints it.
    const lines: string[] = [];
    const out: Output = {
      json: false,
      say: (line) => void lines.push(line),
      progress() {},
      table() {},
      result: (_d, summary) => summary?.(),
    };
    const trace = await eventually<TraceDocument>(() => showTrace(ctx, traceId, out).catch(() => undefined), 'the failed hop', 30_000);
    // Assess
    const hop = trace.hops.find((each) => each.outcome === 'InvalidInputError');
    expect(hop).toMatchObject({ kind: 'function', name: 'fnmesh-local-channel', hopId: failed.requestId });
    expect(hop!.logs).toEqual({
      group: '/aws/lambda/fnmesh-local-channel',
      stream: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\]\w+$/),
      requestId: failed.requestId,
    });
    expect(lines).toContain(
      `logs of fnmesh-local-channel (InvalidInputError): group /aws/lambda/fnmesh-local-channel, stream ${hop!.logs!.stream}, request ${failed.requestId}`,
    );

    // Act: the invocation's lines through the API's reader, as the page asks for them.
    const read = await eventually(
      async () => {
        const page = await data.logs!.lines(
          {
            ...hop!.logs!,
            from: hop!.startedAt - 60_000,
            to: hop!.startedAt + hop!.durationMs + 60_000,
            limit: 100,
          },
          {},
        );
        return page.lines.some((line) => line.message.startsWith('REPORT')) ? page : undefined;
      },
      'the invocation’s lines in CloudWatch Logs',
      30_000,
    );
    // Assess: its error line, only its lines (the good invocation's are on the same stream, or not), in order.
    const error = read.lines.find((line) => line.message.includes('"message":"invocation failed"'));
    expect(error).toBeDefined();
    expect(JSON.parse(error!.message)).toMatchObject({
      level: 'ERROR',
      errorType: 'InvalidInputError',
      function_request_id: failed.requestId,
      traceId,
    });
    for (const line of read.lines) {
      expect(line.message).toContain(failed.requestId);
      expect(line.message).not.toContain(good.requestId);
    }
    expect(read.lines.map((line) => line.timestamp)).toEqual([...read.lines.map((line) => line.timestamp)].sort((a, b) => a - b));
    expect(read.consoleUrl).toBeNull();

    // Act: the page, from the failed hop's logs button, by keyboard.
    const page = await chromium.newPage();
    try {
      await page.goto(`${ui.url}&trace=${traceId}`);
      const button = page.locator(`[data-hop="${failed.requestId}"] button`, { hasText: 'logs' });
      await button.waitFor({ timeout: 20_000 });
      await button.focus();
      await page.keyboard.press('Enter');
      const shown = page.locator(`[data-logs="${failed.requestId}"] .log-lines`);
      await shown.waitFor({ timeout: 20_000 });
      // Assess
      expect(await button.getAttribute('aria-expanded')).toBe('true');
      const text = await shown.textContent();
      expect(text).toContain('"message":"invocation failed"');
      expect(text).toContain('InvalidInputError');
      expect(text).not.toContain(good.requestId);
      expect(await page.locator('[data-hop] button', { hasText: 'logs' }).count()).toBe(1);
      await screenshots(page, 'hop-logs');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator(`[data-logs="${failed.requestId}"]`).count()).toBe(0);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('refuses a log group of another stage or service, and a bad request id, with 400', async () => {
    // Act
    const ask = (query: string) => fetch(`http://127.0.0.1:${ui.port}/api/logs?${query}`, { headers: { 'X-Fnmesh-Token': ui.token } });
    const other = await ask('group=/aws/lambda/fnmesh-prod-channel&stream=s&request=abc');
    const foreign = await ask('group=/aws/lambda/someone-else&stream=s&request=abc');
    const injection = await ask(`group=/aws/lambda/fnmesh-local-channel&stream=s&request=${encodeURIComponent('" ')}`);
    const noToken = await fetch(`http://127.0.0.1:${ui.port}/api/logs?group=/aws/lambda/fnmesh-local-channel&stream=s&request=abc`);
    const missing = await ask('group=/aws/lambda/fnmesh-local-nosuchfunction&stream=s&request=abc');
    // Assess
    expect([other.status, foreign.status, injection.status, noToken.status]).toEqual([400, 400, 400, 403]);
    expect(missing.status).toBe(404);
  });
});
