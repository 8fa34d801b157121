/** The stack at stage local (see serverless.yml): its resource names, and deploying it for the tests that use it. */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { alive, processLockHeld, takeProcessLock, withProcessLock } from '../../infra/processLock.ts';
import { serverless } from '../../infra/serverless/cli.ts';
import { sleep } from '../../lib/internal/time.ts';
import { CHANNELS, FUNCTIONS, MESH_TABLE, resourceName } from '../../infra/stack.ts';
import { testRunDir } from './testRun.ts';

/** The smoke stack's resource names for stage `local`. */
export const smokeStack = {
  table: resourceName('local', MESH_TABLE),
  queue: resourceName('local', CHANNELS.smoke),
  deadLetterQueue: resourceName('local', `${CHANNELS.smoke}-dlq`),
  ping: resourceName('local', FUNCTIONS.ping),
  record: resourceName('local', FUNCTIONS.record),
};

export async function deployStack(): Promise<void> {
  const deploy = await serverless(['deploy', '--stage', 'local']);
  if (deploy.code !== 0) throw new Error(`serverless deploy --stage local failed:\n${deploy.stdout}\n${deploy.stderr}`);
}

const STACK_DEPLOY = 'fnmesh-test: deploy the stack';
const deployedMark = () => join(testRunDir(), 'stack-deployed');

/**
 * The stack deployed once per test run, for every file that uses it (`beforeAll(stackDeployed)`):
 * the run's setup starts the deploy (test/integration/stackSetup.ts) while the files that need no
 * stack run; a file that needs it waits for it here. If that deploy failed, the first file to
 * ask deploys again, and fails with serverless's own words.
 */
export async function stackDeployed(): Promise<void> {
  await withProcessLock(STACK_DEPLOY, async () => {
    if (existsSync(deployedMark())) return;
    await deployStack();
    writeFileSync(deployedMark(), new Date().toISOString());
  });
}

/**
 * Starts the run's deploy and holds the deploy lock until it ends; resolves once the lock is taken,
 * to the deploy's end (`finished`, which never rejects). The end is wrapped in an object: an async
 * function that returned the promise itself would resolve only once the deploy had ended, and the
 * run's setup would wait for it with every file held back (it did: 35 to 50 s per run).
 */
export async function startStackDeploy(): Promise<{ finished: Promise<void> }> {
  const release = await takeProcessLock(STACK_DEPLOY);
  const finished = deployStack()
    .then(() => writeFileSync(deployedMark(), new Date().toISOString()))
    .catch(() => undefined) // the first file that needs the stack deploys again, and reports why
    .finally(release);
  return { finished };
}

/**
 * The deployed stack for this file's tests: deployed once per run (`stackDeployed`), and shared
 * with the other files that use it, or (`alone`) to itself. A file that turns a function's faults
 * on, or counts exactly on the stack's channels and dead-letter queues, needs the stack alone:
 * it waits until no file shares the stack, and none starts sharing it until it is done. The
 * files that need it alone run among the files that need no stack (test/sequencer.ts), so
 * nobody waits for them: they used to run after everything else, one at a time, on an idle machine.
 */
export function useTheStack(options: { alone?: boolean } = {}): void {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    await stackDeployed();
    release = await (options.alone ? takeTheStackAlone() : shareTheStack());
  });
  afterAll(() => release?.());
}

const STACK_ALONE = 'fnmesh-test: the stack, alone';
const POLL_MS = 200;
const pause = () => sleep(POLL_MS);

/** The run's folder of shares of the stack (made if missing). */
function sharersDir(): string {
  const dir = join(testRunDir(), 'stack-sharers');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A share of the stack: a file named after this process in the run's sharers folder, written only
 * while no file has the stack alone. The check comes again after the write: a file that took the
 * stack alone before it sees the share (and waits for it), or the share sees it and steps back.
 */
async function shareTheStack(): Promise<() => void> {
  const share = join(sharersDir(), `${process.pid}-${randomUUID()}`);
  for (;;) {
    while (processLockHeld(STACK_ALONE)) await pause();
    writeFileSync(share, '');
    if (!processLockHeld(STACK_ALONE)) return () => rmSync(share, { force: true });
    rmSync(share, { force: true });
  }
}

/** The stack alone: the lock that keeps new shares out, then until every share is gone (or its process is). */
async function takeTheStackAlone(): Promise<() => void> {
  const release = await takeProcessLock(STACK_ALONE);
  const dir = sharersDir();
  while (readdirSync(dir).some((share) => alive(Number(share.split('-')[0])))) await pause();
  return release;
}

/**
 * Test files run side by side on the one deployed stack. Those that send on, drain, dead-letter
 * or redrive its `ping` channel (the channel function sends there; nothing consumes it) would
 * take each other's messages: each holds this lock (infra/processLock.ts) while it does.
 */
const PING_CHANNEL = "fnmesh-test: the stack's ping channel";

/** Takes the ping channel for a file's or a describe's tests (beforeAll); resolves to its release (afterAll). */
export const holdPingChannel = () => takeProcessLock(PING_CHANNEL);

/** Runs one test's work holding the ping channel. */
export const withPingChannel = <T>(work: () => Promise<T>) => withProcessLock(PING_CHANNEL, work);
