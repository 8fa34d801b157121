/**
 * `fnmesh ui`'s Dead letters section in headless Chromium, on the deployed stack (stage local): a
 * real dead letter (a consumer of the stack's `ping` channel fails on a value, and the Channel sets
 * it aside in `fnmesh-local-ping-dlq` with the error as its reason) is read on the page with its
 * reason, redriven after a confirmation (by keyboard), and then read through SQS: gone from the
 * dead-letter queue, back on the ping queue. Also: a redrive of chosen messages moves only those,
 * and where actions are not allowed the page disables the buttons and says why.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshContext } from '../../cli/context.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { meshUiData } from '../../cli/ui/data.ts';
import { meshDeadLetters } from '../../cli/ui/deadLetters.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import { uniqueSuffix } from '../../infra/localstack/resources.ts';
import { Channel } from '../../lib/channel/Channel.ts';
import { decodeEnvelope, encodeEnvelope, envelopeOf } from '../../lib/channel/envelope.ts';
import { MeshAbortError } from '../../lib/errors.ts';
import { eventually } from '../helpers/eventually.ts';
import { holdPingChannel, useTheStack } from '../helpers/stack.ts';
import { chromiumForFile, screenshots } from '../helpers/browser.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const ctx = meshContext('local');
let ui: UiServer;
const chromium = chromiumForFile();
let pingUrl: string;
let deadLetterUrl: string;
let releasePing: (() => void) | undefined;

beforeAll(async () => {
  releasePing = await holdPingChannel(); // every test here drains and redrives the ping channel
  [pingUrl, deadLetterUrl] = await Promise.all([ctx.queueUrl('ping'), ctx.queueUrl('ping-dlq')]);
  ui = await startUiServer({ data: meshUiData(ctx), assets: await loadUiAssets(), pollMs: 250 });
}, 300_000);

afterAll(async () => {
  await ui?.close();
  releasePing?.();
});

/** Messages in a queue, visible and in flight (SQS's approximate counts; exact on LocalStack). */
async function depth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Receives from a queue until `match` finds a message (which is left hidden for 30 s), or none is left. */
async function find(
  queueUrl: string,
  match: (body: string) => boolean,
): Promise<{ body: string; attributes: string[]; receipt: string } | undefined> {
  for (let round = 0; round < 20; round++) {
    const { Messages = [] } = await ctx.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!Messages.length) return undefined;
    const found = Messages.find((message) => match(message.Body ?? ''));
    if (found) return { body: found.Body!, attributes: Object.keys(found.MessageAttributes ?? {}), receipt: found.ReceiptHandle! };
  }
  return undefined;
}

/** Deletes the messages of a queue whose body contains `text`; the others are made visible again at once. */
async function removeCopies(queueUrl: string, text: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const { Messages = [] } = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 10 }),
    );
    if (!Messages.length) return;
    for (const message of Messages) {
      if (message.Body?.includes(text))
        await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      else
        await ctx.sqs.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }),
        );
    }
    if (Messages.every((message) => !message.Body?.includes(text))) return;
  }
}

describe('the Dead letters section, on the deployed stack', () => {
  it("shows a failed value's dead letter with its reason, and redrives it after a confirmation: back on its queue", async () => {
    // Prepare: a consumer of the ping channel that fails on the value; the Channel dead-letters it after one delivery.
    const marker = `ui-dead-letter-${uniqueSuffix()}`;
    const ping = new Channel<unknown>({
      sqs: ctx.sqs,
      dynamodb: ctx.dynamodb,
      tableName: ctx.tableName,
      name: 'ping',
      queueUrl: pingUrl,
      deadLetterQueueUrl: deadLetterUrl,
      waitTimeSeconds: 1,
    });
    const sent = await ping.send({ marker });
    const stop = new AbortController();
    try {
      const consuming = ping
        .consume(
          async (_value, envelope) => {
            // Any other value on the stage's queue fails too (and goes back with the redrive of all), under another reason.
            throw new Error(envelope.id === sent.id ? `refused ${marker}` : 'not this test’s value');
          },
          { deadLetterAfter: 1, signal: stop.signal },
        )
        .catch((err: Error) => err);
      await eventually(
        async () => ((await depth(deadLetterUrl)) > 0 && (await depth(pingUrl)) === 0 ? true : undefined),
        'the dead letter',
        30_000,
      );
      stop.abort();
      expect(await consuming).toBeInstanceOf(MeshAbortError);
      // The aborted loop's last long poll runs out on the server first.
      await new Promise((resolve) => setTimeout(resolve, 1500));

      const page = await chromium.newPage();
      try {
        await page.goto(ui.url);
        // Act: to the section by keyboard, read ping's dead letters.
        const nav = page.locator('nav a', { hasText: 'Dead letters' });
        // The section is there once the first status arrived.
        await page.locator('#dead-letters-title').waitFor({ timeout: 20_000 });
        await nav.focus();
        await page.keyboard.press('Enter');
        expect(await page.locator('#dead-letters-title').evaluate((heading) => heading === heading.ownerDocument.activeElement)).toBe(true);
        await page.locator('#dead-letters select').selectOption('ping');
        await page.locator('#dead-letters button', { hasText: 'Read dead letters' }).click();
        // SQS (and strict mode's LocalStack on purpose) may deliver a message twice: each copy the consumer got is set aside.
        const mine = page.locator('#dead-letters tr[data-message]', { hasText: `refused ${marker}` });
        await mine.first().waitFor({ timeout: 20_000 });
        // Assess: the reason the Channel gave, and a link to the value's run.
        for (const row of await mine.all()) {
          // Delivery 1, or 2 if strict mode's SQS redelivered it before the consumer saw it.
          expect(await row.locator('[data-field="reason"]').textContent()).toMatch(
            new RegExp(`^handler failed on delivery \\d+: Error: refused ${marker}$`),
          );
          expect(await row.locator('a', { hasText: 'run' }).getAttribute('href')).toContain(`trace=${sent.traceId}`);
        }
        const listed = await page.locator('#dead-letters tr[data-message]').count();
        await screenshots(page, 'dead-letters');

        // Act: ask for the redrive of all, then change one's mind (Escape): nothing moves.
        const redriveAll = page.locator('#dead-letters button', { hasText: 'Redrive all' });
        await redriveAll.focus();
        await page.keyboard.press('Enter');
        const dialog = page.locator('#dead-letters dialog');
        await dialog.locator('h3').waitFor({ timeout: 5_000 });
        const question = await dialog.textContent();
        const focusedFirst = await page.locator(':focus').textContent();
        await page.keyboard.press('Escape');
        const focusedAfterEscape = await page.locator(':focus').textContent();
        const stillThere = await depth(deadLetterUrl);
        // Assess
        expect(question).toContain(
          `Move all ${listed} message${listed === 1 ? '' : 's'} from fnmesh-local-ping-dlq back to fnmesh-local-ping`,
        );
        expect(focusedFirst).toBe('Cancel');
        expect(await dialog.isVisible()).toBe(false);
        expect(focusedAfterEscape).toBe('Redrive all');
        expect(stillThere).toBeGreaterThan(0);

        // Act: again, and confirm by keyboard.
        await page.keyboard.press('Enter');
        await dialog.locator('h3').waitFor({ timeout: 5_000 });
        await page.keyboard.press('Tab');
        expect(await page.locator(':focus').textContent()).toBe(`Redrive ${listed} message${listed === 1 ? '' : 's'} to fnmesh-local-ping`);
        await page.keyboard.press('Enter');
        const outcome = page.locator('#dead-letters [data-field="redrive-result"]');
        await outcome.waitFor({ timeout: 30_000 });
        // Assess: the page says what moved, focuses that, and reads the queue again (empty).
        expect(await outcome.textContent()).toBe(
          `Moved ${listed} message${listed === 1 ? '' : 's'} from fnmesh-local-ping-dlq to fnmesh-local-ping.`,
        );
        expect(await outcome.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
        await expect
          .poll(() => page.locator('#dead-letters').textContent(), { timeout: 20_000 })
          .toContain('fnmesh-local-ping-dlq is empty');
        await expect.poll(() => page.locator('[data-channel="ping"] td:last-child').textContent(), { timeout: 20_000 }).toBe('0');
        // Through SQS: the dead-letter queue is empty, the value is back on ping without the dead-letter attributes.
        expect(await depth(deadLetterUrl)).toBe(0);
        const back = await find(pingUrl, (body) => body.includes(sent.id));
        expect(back).toBeDefined();
        expect(decodeEnvelope(back!.body)).toMatchObject({ id: sent.id, traceId: sent.traceId, body: { marker } });
        expect(back!.attributes).not.toContain('fnmesh-reason');
        await ctx.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: pingUrl, ReceiptHandle: back!.receipt, VisibilityTimeout: 0 }));
      } finally {
        await page.close();
      }
      // And a receiver of the channel gets it again (which also counts it out of the stage's ping channel).
      let received: string | undefined;
      for (let attempt = 0; attempt < 10 && received !== sent.id; attempt++)
        received = (await ping.receive({ signal: AbortSignal.timeout(15_000) })).envelope?.id;
      expect(received).toBe(sent.id);
    } finally {
      stop.abort();
      // Whatever copies are left (a duplicate delivery's, or all of them if the test failed half-way).
      await removeCopies(pingUrl, sent.id);
      await removeCopies(deadLetterUrl, sent.id);
    }
  }, 180_000);

  it('redrives only the chosen messages, and says which were not there', async () => {
    // Prepare: two dead letters put on ping's dead-letter queue directly (as `fnmesh dlq` tests do).
    const marker = `ui-chosen-${uniqueSuffix()}`;
    const [first, second] = [envelopeOf({ marker, n: 1 }), envelopeOf({ marker, n: 2 })];
    const ids: string[] = [];
    for (const envelope of [first, second]) {
      const { MessageId } = await ctx.sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterUrl,
          MessageBody: encodeEnvelope(envelope),
          MessageAttributes: { 'fnmesh-reason': { DataType: 'String', StringValue: `test ${marker}` } },
        }),
      );
      ids.push(MessageId!);
    }
    try {
      // Act
      const outcome = await meshDeadLetters(ctx).redrive('ping', { messageIds: [ids[0]!, 'no-such-message'] });
      // Assess
      expect(outcome).toMatchObject({ channel: 'ping', moved: 1, failed: 0, skipped: 0, duplicated: 0, notFound: ['no-such-message'] });
      const listed = await meshDeadLetters(ctx).list('ping', { max: 100 });
      expect(listed.messages.map((letter) => letter.messageId)).toContain(ids[1]);
      expect(listed.messages.map((letter) => letter.messageId)).not.toContain(ids[0]);
      const back = await find(pingUrl, (body) => body.includes(first.id));
      expect(back).toBeDefined();
      await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl: pingUrl, ReceiptHandle: back!.receipt }));
    } finally {
      const left = await find(deadLetterUrl, (body) => body.includes(second.id));
      if (left) await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: left.receipt }));
    }
  });

  it('disables redrive where actions are not allowed (another stage without --allow-actions), and says why', async () => {
    // Prepare: the same data, presented as stage dev.
    const readOnly = await startUiServer({ data: { ...meshUiData(ctx), stage: 'dev' }, assets: await loadUiAssets(), pollMs: 250 });
    const page = await chromium.newPage();
    try {
      // Act
      await page.goto(readOnly.url);
      const note = page.locator('#redrive-off');
      await note.waitFor({ timeout: 20_000 });
      await page.locator('#dead-letters button', { hasText: 'Read dead letters' }).click();
      const redriveAll = page.locator('#dead-letters button', { hasText: 'Redrive all' });
      await redriveAll.waitFor({ timeout: 20_000 });
      // Assess
      expect(await note.textContent()).toMatch(/^Redrive is off: read-only on stage dev: start fnmesh ui with --allow-actions/);
      expect(await redriveAll.isDisabled()).toBe(true);
      expect(await redriveAll.getAttribute('aria-describedby')).toBe('redrive-off');
    } finally {
      await page.close();
      await readOnly.close();
    }
  });
});
