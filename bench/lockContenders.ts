/**
 * Lock contenders that share nothing with each other but the lock item, as Lambda invocations
 * would: each in a worker thread of its own, with its own DynamoDB client and Mutex (and so its own
 * module state: no wake-up from one contender reaches another). The bench's fairness stage runs
 * the same contenders in one thread and apart, side by side.
 *
 * The thread side (this file run as a worker): per message `{ tableName, name, fairness, rounds,
 * startAt }`, waits until `startAt` (epoch ms), locks and unlocks `rounds` times, and answers
 * `{ waits, endedAt }`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { localConfig } from '../infra/localstack/clients.ts';
import { type Fairness, Mutex } from '../lib/sync/Mutex.ts';

interface Round {
  tableName: string;
  name: string;
  fairness: Fairness;
  rounds: number;
  startAt: number;
}

interface Result {
  waits: number[];
  endedAt: number;
}

/** One contender's rounds: lock, unlock, `rounds` times. @returns each lock's wait, ms */
export async function lockRounds(mutex: Mutex, rounds: number): Promise<number[]> {
  const waits: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const asked = performance.now();
    const held = await mutex.lock();
    waits.push(performance.now() - asked);
    await held.unlock();
  }
  return waits;
}

/** Contenders in worker threads of their own, started once and driven run by run. */
export class ApartContenders {
  private readonly workers: Worker[];
  private constructor(count: number) {
    this.workers = Array.from({ length: count }, () => new Worker(new URL('./lockContenders.worker.mjs', import.meta.url)));
  }

  /** Starts `count` contenders and waits until each has loaded (answered an empty run). */
  static async start(count: number): Promise<ApartContenders> {
    const contenders = new ApartContenders(count);
    await contenders.ask({ tableName: '', name: '', fairness: 'polling', rounds: 0, startAt: 0 });
    return contenders;
  }

  /**
   * One run: every contender locks and unlocks `rounds` times from the same instant on.
   * @returns lock + unlock pairs per second (all of them, from the start to the last unlock) and every wait
   */
  async run(tableName: string, name: string, fairness: Fairness, rounds: number): Promise<{ throughput: number; waits: number[] }> {
    const startAt = Date.now() + 200;
    const results = await this.ask({ tableName, name, fairness, rounds, startAt });
    const endedAt = Math.max(...results.map((result) => result.endedAt));
    const waits = results.flatMap((result) => result.waits);
    return { throughput: (waits.length / (endedAt - startAt)) * 1000, waits };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private ask(round: Round): Promise<Result[]> {
    return Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<Result>((resolve, reject) => {
            const failed = (err: Error) => {
              worker.off('message', answered);
              reject(err);
            };
            const answered = (result: Result) => {
              worker.off('error', failed);
              resolve(result);
            };
            worker.once('message', answered);
            worker.once('error', failed);
            worker.postMessage(round);
          }),
      ),
    );
  }
}

if (!isMainThread) {
  const client = new DynamoDBClient(localConfig);
  parentPort!.on('message', async (round: Round) => {
    let waits: number[] = [];
    if (round.rounds > 0) {
      const mutex = new Mutex({ client, tableName: round.tableName, name: round.name, clockSkewMs: 200, fairness: round.fairness });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, round.startAt - Date.now())));
      waits = await lockRounds(mutex, round.rounds);
    }
    parentPort!.postMessage({ waits, endedAt: Date.now() } satisfies Result);
  });
}
