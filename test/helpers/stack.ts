/** The stack at stage local (see serverless.yml): its resource names, and deploying it for the tests that use it. */
import { takeProcessLock, withProcessLock } from '../../infra/processLock.ts';
import { serverless } from '../../infra/serverless/cli.ts';
import { CHANNELS, FUNCTIONS, MESH_TABLE, resourceName } from '../../infra/stack.ts';

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
