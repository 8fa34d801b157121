/** Deploys the stack to stage local (quick when nothing changed) for the tests that use it. */
import { serverless } from '../../infra/serverless/cli.ts';

export async function deployStack(): Promise<void> {
  const deploy = await serverless(['deploy', '--stage', 'local']);
  if (deploy.code !== 0) throw new Error(`serverless deploy --stage local failed:\n${deploy.stdout}\n${deploy.stderr}`);
}
