/**
 * The room signal of a bounded channel: a small standard SQS queue of its own (`roomQueueUrl`)
 * on which a sender blocked by a full channel long-polls, and into which a receiver puts one
 * message each time it counts values out (and `close` one, so blocked senders learn of it).
 * Go: a send on a full buffered channel is woken by the receive that makes room.
 *
 * The signal is only a hint; the meta item stays the truth. A woken sender tries its conditional
 * count-in again (intents.ts), which is what decides whether there is room, so:
 *   - a signal lost (a SendMessage that failed or whose answer was lost, a room message another
 *     sender took) costs at most one long poll: the sender tries again after `roomWaitSeconds`
 *     anyway (default 1 s: as often as a full channel's poll at its slowest);
 *   - a duplicate (SQS is at-least-once) or a stale signal (one nobody waited for) costs one
 *     count-in attempt that may be refused, then the sender waits again;
 *   - many senders: each signal wakes one of them (a long poll takes one message), and a
 *     count-out of k values sends k signals (up to 10), so k senders wake; a sender that finds
 *     the room taken by another waits again, and one that finds the channel closed passes the
 *     signal on, so every blocked sender learns of a close. A queue, unlike a notification, keeps
 *     a signal sent between a sender's refused count-in and its long poll: no wake-up is missed.
 *
 *   signal  SendMessage, or SendMessageBatch of up to 10 (best effort: a failure is swallowed)
 *   wait    ReceiveMessage of one, waiting up to `roomWaitSeconds`; what came is deleted
 *           (DeleteMessage, best effort, not awaited: a signal not deleted only comes back as a
 *           stale one after the visibility timeout)
 */
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { MeshConfigError } from '../errors.ts';
import { abortable, callOptions, sleep } from '../internal/time.ts';

/** The longest a blocked sender waits for a signal before it tries its count-in again (default). */
export const ROOM_WAIT_SECONDS = 1;
/** How long a received signal stays invisible, should its delete fail. */
const ROOM_VISIBILITY_SECONDS = 30;

export class RoomSignal {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    /** The longest one wait lasts (a lost signal costs at most this). */
    private readonly waitSeconds: number = ROOM_WAIT_SECONDS,
  ) {}

  /** Checks a room queue URL against the channel's own queue. */
  static check(roomQueueUrl: string, queueUrl: string, waitSeconds: number): void {
    if (!(Number.isInteger(waitSeconds) && waitSeconds >= 1 && waitSeconds <= 20))
      throw new MeshConfigError(`roomWaitSeconds must be an integer from 1 to 20, got ${waitSeconds}`);
    if (roomQueueUrl === queueUrl) throw new MeshConfigError('roomQueueUrl must be a queue of its own, not the channel queue');
    if (roomQueueUrl.endsWith('.fifo')) throw new MeshConfigError('roomQueueUrl must be a standard queue, not a FIFO queue');
  }

  /**
   * Says there is room now for `count` values (counted out; or the channel closed): as many
   * signals, up to 10, each waking one blocked sender. Best effort.
   */
  async signal(count = 1): Promise<void> {
    const signals = Math.min(Math.max(1, count), 10);
    const sending =
      signals === 1
        ? this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: 'room' }))
        : this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: Array.from({ length: signals }, (_, i) => ({ Id: String(i), MessageBody: 'room' })),
            }),
          );
    await sending.catch(() => undefined);
  }

  /**
   * Waits until a signal comes, or `waitSeconds` pass. An error (the room queue missing,
   * say) is not the sender's: it then waits as long as a poll would have, and tries again.
   * @returns whether a signal came (false: the wait ran out, or failed)
   * @throws MeshAbortError when `signal` aborts
   */
  async wait(signal: AbortSignal | undefined): Promise<boolean> {
    let messages: Message[];
    try {
      ({ Messages: messages = [] } = await abortable(signal, () =>
        this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: 1, // one signal wakes one sender
            WaitTimeSeconds: this.waitSeconds,
            VisibilityTimeout: ROOM_VISIBILITY_SECONDS,
          }),
          callOptions(signal),
        ),
      ));
    } catch (err) {
      if (signal?.aborted) throw err;
      await sleep(this.waitSeconds * 1000, signal);
      return false;
    }
    for (const message of messages)
      void this.sqs
        .send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle! }))
        .catch(() => undefined);
    return messages.length > 0;
  }
}
