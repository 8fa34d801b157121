/**
 * Setup of the files that use the deployed stack (stage local, see serverless.yml): the deploy
 * starts here, once per run (every stack project lists this file; the first serves the run), and
 * goes on while the files that need no stack run. Each stack file waits for it in
 * `beforeAll(stackDeployed)` (test/helpers/stack.ts).
 */
import { startStackDeploy } from '../helpers/stack.ts';

export default async function setup() {
  if (process.env.FNMESH_TEST_STACK_DEPLOY) return;
  process.env.FNMESH_TEST_STACK_DEPLOY = '1';
  const deploy = await startStackDeploy();
  return () => deploy.finished;
}
