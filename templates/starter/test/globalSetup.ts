/**
 * Before any test: the local cloud up (fnmesh's LocalStack in host mode, no Docker; started here
 * only if none answers yet, and stopped again at the end), and this service deployed to it with
 * `serverless deploy --stage local`, exactly as `npm start` does.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCloud, stopLocalCloud } from 'fnmesh/testing';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

function deploy(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(serviceDir, 'node_modules', '.bin', 'serverless'), ['deploy', '--stage', 'local'], {
      cwd: serviceDir,
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`serverless deploy --stage local exited with ${code}`))));
  });
}

export default async function setup() {
  const cloud = await startLocalCloud();
  try {
    await deploy();
  } catch (err) {
    await stopLocalCloud(cloud);
    throw err;
  }
  return () => stopLocalCloud(cloud);
}
