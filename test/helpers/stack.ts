/** The stack at stage local (see serverless.yml): its resource names, and deploying it for the tests that use it. */
import { serverless } from '../../infra/serverless/cli.ts';

/** The smoke stack's resource names for stage `local`. */
export const smokeStack = {
  table: 'fnmesh-local-mesh',
  queue: 'fnmesh-local-smoke',
  deadLetterQueue: 'fnmesh-local-smoke-dlq',
  ping: 'fnmesh-local-ping',
  record: 'fnmesh-local-record',
};

export async function deployStack(): Promise<void> {
  const deploy = await serverless(['deploy', '--stage', 'local']);
  if (deploy.code !== 0) throw new Error(`serverless deploy --stage local failed:\n${deploy.stdout}\n${deploy.stderr}`);
}
