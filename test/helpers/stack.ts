/** The stack at stage local (see serverless.yml): its resource names, and deploying it for the tests that use it. */
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
