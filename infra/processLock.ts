/**
 * A lock across processes on this machine, for work that must not run twice at once: packaging
 * a service (`serverless package|deploy` builds into the folder's .esbuild/ and .serverless/, so
 * two at once overwrite each other's bundles: `npm run bench` beside `fnmesh deploy`, or test
 * files side by side), or `npm pack` (which rebuilds dist/).
 *
 * The lock is a directory in the OS temporary folder (mkdir is atomic), holding its owner's pid;
 * a lock whose owner has exited is taken over, so a killed process never blocks the next.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POLL_MS = 200;
/** A lock directory without an owner file yet is another process between its mkdir and its write. */
export const OWNERLESS_GRACE_MS = 10_000;

/** The lock's directory for `key` (any string: a folder path, a name). */
export function processLockPath(key: string): string {
  return join(tmpdir(), `fnmesh-lock-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
}

/** Whether process `pid` is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the lock at `path` is held: by its owner while that process lives, or, with no owner
 * written yet (another process between its mkdir and its write), until the grace has passed.
 * False for a lock that is not there (or no longer).
 */
function held(path: string): boolean {
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(join(path, 'pid'), 'utf8'));
  } catch {
    // No owner file yet (or no longer): judged below, by the lock's age.
  }
  if (owner !== undefined && Number.isSafeInteger(owner) && owner > 0) return alive(owner);
  try {
    return Date.now() - statSync(path).mtimeMs < OWNERLESS_GRACE_MS;
  } catch {
    return false; // no lock
  }
}

/** Takes the lock if it is free or its owner is gone; false while another live process holds it. */
function tryTake(path: string): boolean {
  try {
    mkdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (held(path)) return false;
    rmSync(path, { recursive: true, force: true }); // a dead owner's, or gone meanwhile
    return false; // the next poll races for it like anyone else
  }
  writeFileSync(join(path, 'pid'), String(process.pid));
  return true;
}

/** Whether a live process holds the lock named `key` (or is between its mkdir and its write). */
export function processLockHeld(key: string): boolean {
  return held(processLockPath(key));
}

/** Takes the lock named `key`, waiting as long as another process holds it; resolves to its release. */
export async function takeProcessLock(key: string): Promise<() => void> {
  const path = processLockPath(key);
  while (!tryTake(path)) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  return () => rmSync(path, { recursive: true, force: true });
}

/** Runs `work` holding the lock named `key`, waiting for it as long as another process holds it. */
export async function withProcessLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const release = await takeProcessLock(key);
  try {
    return await work();
  } finally {
    release();
  }
}
