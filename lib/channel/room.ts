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
 *   - many senders: each signal wakes one of them (a long poll that gets the message). A signal
 *     says how much room was made (its body: a count-out of k values says k); the sender it woke
 *     passes on what its count-in did not use, so k values counted out wake senders for all k,
 *     one after another. One that finds the room taken by another waits again (and passes
 *     nothing on); one that finds the channel closed passes the signal on, so every blocked
 *     sender learns of a close. A queue, unlike a notification, keeps a signal sent between a
 *     sender's refused count-in and its long poll: no wake-up is missed. Signals nobody waits
 *     for stay one per count-out, and a wait takes up to 10 of them at once.
 *
 *   signal  SendMessage (best effort: its failure is swallowed)
 *   wait    ReceiveMessage of up to 10, waiting up to `roomWaitSeconds`; what came is deleted
 *           (DeleteMessageBatch, best effort, not awaited: a signal not deleted only comes back
 *           as a stale one after the visibility timeout)
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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

  /** Says there is room now for `count` values (counted out; or the channel closed). Best effort. */
  async signal(count = 1): Promise<void> {
    await this.sqs
      .send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: String(Math.max(1, count)) }))
      .catch(() => undefined);
  }

  /**
   * Waits until a signal comes, or `waitSeconds` pass. An error (the room queue missing,
   * say) is not the sender's: it then waits as long as a poll would have, and tries again.
   * @returns the room the signals that came say was made (0: none came; the wait ran out, or failed)
   * @throws MeshAbortError when `signal` aborts
   */
  async wait(signal: AbortSignal | undefined): Promise<number> {
    let messages: Message[];
    try {
      ({ Messages: messages = [] } = await abortable(signal, () =>
        this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.waitSeconds,
            VisibilityTimeout: ROOM_VISIBILITY_SECONDS,
          }),
          callOptions(signal),
        ),
      ));
    } catch (err) {
      if (signal?.aborted) throw err;
      await sleep(this.waitSeconds * 1000, signal);
      return 0;
    }
    if (messages.length)
      void this.sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
          }),
        )
        .catch(() => undefined);
    // Each signal says how much room it announced; any other body (an older fnmesh's) is one.
    return messages.reduce((room, message) => room + roomOf(message.Body), 0);
  }
}

/** The room a signal announces: a positive integer body, else 1. */
function roomOf(body: string | undefined): number {
  const room = Number(body);
  return Number.isSafeInteger(room) && room >= 1 ? room : 1;
}
