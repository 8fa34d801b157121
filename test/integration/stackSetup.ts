/**
 * Setup of the files that use the deployed stack (stage local, see serverless.yml): it is deployed
 * once per run, here, before any of them starts, so they can run side by side. Both stack projects
 * list this file; the second finds the deploy done.
 */
import { deployStack } from '../helpers/stack.ts';

export default async function setup() {
  if (process.env.FNMESH_TEST_STACK_DEPLOYED) return;
  await deployStack();
  process.env.FNMESH_TEST_STACK_DEPLOYED = '1';
}
