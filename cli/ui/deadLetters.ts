/**
 * The dead-letter views of `fnmesh ui` (issue 16, item 5): which channels have a dead-letter
 * queue, a peek at one channel's dead letters, and the UI's only write, a redrive. Built on the
 * functions `fnmesh dlq` prints (cli/commands/dlq.ts), so the page and the CLI agree.
 */
import { STACK_CHANNELS } from '../../infra/stack.ts';
import { channelQueues, readDeadLetters, redrive } from '../commands/dlq.ts';
import type { MeshContext } from '../context.ts';
import type { ApiDeadLetter, ApiDeadLetterQueue, ApiDeadLetters, ApiRedrive } from './web/types.ts';

/** What the server needs for the dead-letter routes; tests give it a fake one. */
export interface UiDeadLetters {
  /** The channels with a dead-letter queue. No calls. */
  queues(): ApiDeadLetterQueue[];
  /**
   * A peek at up to `max` dead letters (they stay in the queue; each is received and made visible
   * again, so its receive count grows): read on demand only.
   * @throws MeshConfigError for an unknown channel
   */
  list(channel: string, options: { max: number }): Promise<ApiDeadLetters>;
  /**
   * Moves the channel's dead letters (all, or the listed ids) back to its queue.
   * @throws MeshConfigError for an unknown channel
   */
  redrive(channel: string, options: { messageIds?: readonly string[] }): Promise<ApiRedrive>;
}

/** The dead-letter views of a stage, through its clients and names. */
export function meshDeadLetters(ctx: MeshContext): UiDeadLetters {
  return {
    queues: () =>
      STACK_CHANNELS.map((channel) => {
        const { queue, deadLetterQueue, shared } = channelQueues(ctx, channel);
        return { channel, queue, deadLetterQueue, shared };
      }),
    async list(channel, { max }) {
      const readAt = Date.now();
      const queues = channelQueues(ctx, channel);
      const { document } = await readDeadLetters(ctx, channel, { max });
      return {
        channel,
        queue: queues.queue,
        deadLetterQueue: queues.deadLetterQueue,
        readAt,
        max,
        messages: document.messages.map(({ messageId, receiveCount, reason, source, body }): ApiDeadLetter => ({
          messageId,
          receiveCount,
          reason,
          source,
          envelope: typeof body === 'string' ? null : { id: body.id, traceId: body.traceId, sentAt: body.sentAt },
          body: typeof body === 'string' ? body : body.body,
        })),
      };
    },
    async redrive(channel, { messageIds }) {
      const { document, failures, notFound, durationMs } = await redrive(ctx, channel, messageIds ? { messageIds } : {});
      return { ...document, failures, notFound, durationMs };
    },
  };
}
