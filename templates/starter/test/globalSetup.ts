/**
 * Before any test: the local cloud up (fnmesh's LocalStack in host mode, no Docker; started here
 * only if none answers yet, and stopped again at the end), and this service deployed to it with
 * `serverless deploy --stage local`, exactly as `npm start` does.
 */
import { fileURLToPath } from 'node:url';
import { deployToLocalCloud, startLocalCloud, stopLocalCloud } from 'fnmesh/testing';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

export default async function setup() {
  const cloud = await startLocalCloud();
  try {
    await deployToLocalCloud({ cwd: serviceDir });
  } catch (err) {
    await stopLocalCloud(cloud);
    throw err;
  }
  return () => stopLocalCloud(cloud);
}
