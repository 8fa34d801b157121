/**
 * Locks under faults, Jepsen-style: `workers` contender processes add to one counter under one
 * lock while their SDK calls draw faults, and this process freezes contenders (SIGSTOP) — mostly
 * the holder of the moment — for longer than the lease, then thaws them (SIGCONT). At the end the history every contender
 * printed and the counter's own log go to the checker (lockHistory.ts), and the counter must be
 * exactly workers × increments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { fileURLToPath } from 'node:url';
import { dynamodb } from '../infra/localstack/resources.ts';
import { randomInt, seededRandom } from '../lib/faults/random.ts';
import { sleep } from '../lib/internal/time.ts';
import { keys } from '../lib/table/layout.ts';
import { checkLockHistory, type Grant, type LockCheck, type WriteRecord } from './lockHistory.ts';
import { counterKey, type LockWorkerArgs } from './lockWorkerArgs.ts';

export interface LockChaosOptions {
  tableName: string;
  workers: number;
  increments: number;
  leaseMs: number;
  /** Work under the lock, up to this many ms. @default leaseMs / 2 */
  workMs?: number;
  faultRate: number;
  seed: number;
  /** Contenders write without fence or compare-and-set (the negative control: the checker must object). */
  unsafe?: boolean;
  /** How many times a contender is frozen for longer than the lease. */
  pauses: number;
}

export interface LockChaosResult extends LockCheck {
  operations: number;
  faultsInjected: number;
  pausesInjected: number;
  expected: number;
  counter: number;
  /** Increments missing from the counter (lost updates). */
  lost: number;
  /** Increments counted beyond workers × increments. */
  doubleApplied: number;
}

const workerPath = fileURLToPath(new URL('./lockWorker.ts', import.meta.url));

async function currentHolder(tableName: string, lockName: string): Promise<string | undefined> {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: keys.mutex(lockName), ConsistentRead: true }));
  return Item?.owner?.S?.split('/', 1)[0];
}

export async function runLockChaos(options: LockChaosOptions): Promise<LockChaosResult> {
  const random = seededRandom(options.seed);
  const lockName = `chaos-${options.seed}-${Date.now().toString(36)}`;
  const grants: Grant[] = [];
  const writes: WriteRecord[] = [];
  let faultsInjected = 0;
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  const errors: string[] = [];
  try {
    for (let index = 0; index < options.workers; index++) {
      const args: LockWorkerArgs = {
        tableName: options.tableName,
        lockName,
        id: `w${index}`,
        increments: options.increments,
        leaseMs: options.leaseMs,
        workMs: options.workMs ?? Math.round(options.leaseMs / 2),
        faultRate: options.faultRate,
        ...(options.unsafe ? { unsafe: true } : {}),
        seed: options.seed * 1000 + index,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', workerPath, JSON.stringify(args)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line);
        if (event.type === 'grant') grants.push(event);
        else if (event.type === 'write') writes.push(event);
        else if (event.type === 'done') faultsInjected += event.faults.throttle + event.faults.network + event.faults.ambiguous;
      });
      exits.push(
        new Promise((resolve) =>
          child.on('exit', (code, signal) => {
            if (code !== 0) errors.push(`contender w${index} exited with ${code ?? signal}: ${stderr.slice(-2000)}`);
            resolve();
          }),
        ),
      );
    }

    // Freeze contenders at random moments for longer than the lease.
    let running = true;
    void Promise.all(exits).then(() => (running = false));
    let pausesInjected = 0;
    while (running && pausesInjected < options.pauses) {
      await sleep(randomInt(random, 100, 400));
      const alive = children.filter((child) => child.exitCode === null && child.signalCode === null);
      if (!alive.length) break;
      // Mostly the holder of the moment (read from the lock item: its token starts with the
      // contender's id), frozen between its grant and its write; sometimes anyone.
      const holder = random() < 0.7 ? await currentHolder(options.tableName, lockName) : undefined;
      const holding = holder === undefined ? undefined : children[Number(holder.slice(1))];
      const victim = holding && alive.includes(holding) ? holding : alive[randomInt(random, 0, alive.length - 1)]!;
      victim.kill('SIGSTOP');
      pausesInjected++;
      await sleep(options.leaseMs * 2 + randomInt(random, 0, options.leaseMs));
      victim.kill('SIGCONT');
    }
    await Promise.all(exits);
    if (errors.length) throw new Error(errors.join('\n'));

    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: options.tableName, Key: counterKey(lockName), ConsistentRead: true }),
    );
    const log = (Item?.log?.L ?? []).map((entry) => entry.S!);
    const counter = Number(Item?.value?.N ?? 0);
    const check = checkLockHistory({ grants, writes, log });
    const expected = options.workers * options.increments;
    return {
      ...check,
      operations: grants.length + writes.length,
      faultsInjected: faultsInjected + pausesInjected,
      pausesInjected,
      expected,
      counter,
      lost: Math.max(0, expected - counter),
      doubleApplied: Math.max(0, counter - expected),
    };
  } finally {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
  }
}
