/**
 * infra/processLock.ts on the real file system: holders take turns, across processes too; a lock
 * whose owner has exited is taken over; a lock without an owner is taken over only after its grace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OWNERLESS_GRACE_MS, processLockHeld, processLockPath, takeProcessLock, withProcessLock } from '../../infra/processLock.ts';

const keys: string[] = [];
const freshKey = () => {
  const key = `fnmesh-unit-${randomUUID()}`;
  keys.push(key);
  return key;
};

afterEach(() => {
  for (const key of keys.splice(0)) rmSync(processLockPath(key), { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withProcessLock', () => {
  it('runs holders one at a time, and frees the lock when the work throws', async () => {
    const key = freshKey();
    const events: string[] = [];
    const holder = (name: string) =>
      withProcessLock(key, async () => {
        events.push(`${name} in`);
        await sleep(50);
        events.push(`${name} out`);
      });

    await Promise.all([holder('a'), holder('b'), holder('c')]);
    await expect(withProcessLock(key, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const again = await withProcessLock(key, async () => 'free');

    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace(' in', ' out'));
    expect(again).toBe('free');
  });

  it('waits for a holder in another process', async () => {
    const key = freshKey();
    const path = processLockPath(key);
    const released = `${path}.released`;
    // Another process takes the lock (the directory with its pid), says so, holds it 300 ms, notes
    // that it let go, and lets go.
    const other = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('node:fs');fs.mkdirSync(${JSON.stringify(path)});fs.writeFileSync(${JSON.stringify(join(path, 'pid'))},String(process.pid));` +
          `process.stdout.write('held\\n');` +
          `setTimeout(()=>{fs.writeFileSync(${JSON.stringify(released)},'');fs.rmSync(${JSON.stringify(path)},{recursive:true,force:true});},300);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => other.on('exit', resolve));
    await new Promise((resolve) => other.stdout!.once('data', resolve));

    const releasedBeforeUs = await withProcessLock(key, async () => existsSync(released));

    expect(releasedBeforeUs).toBe(true);
    await exited;
    rmSync(released, { force: true });
  });

  it('takes over a lock whose owner has exited', async () => {
    const key = freshKey();
    const path = processLockPath(key);
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(path);
    writeFileSync(join(path, 'pid'), exited.stdout);

    const release = await takeProcessLock(key);

    release();
  });

  it('leaves a lock without an owner alone during its grace, then takes it over', async () => {
    const key = freshKey();
    const path = processLockPath(key);
    mkdirSync(path);
    writeFileSync(join(path, 'pid'), ''); // an owner that never wrote its pid

    const taking = takeProcessLock(key);
    const early = await Promise.race([taking.then(() => 'taken'), sleep(500).then(() => 'waiting')]);
    const old = (Date.now() - OWNERLESS_GRACE_MS - 1000) / 1000;
    utimesSync(path, old, old); // as if its owner had died between mkdir and writing its pid
    const release = await taking;

    expect(early).toBe('waiting');
    release();
  });
});

describe('processLockHeld', () => {
  it('is true while a live process holds the lock or is about to (no owner yet, within the grace), false otherwise', async () => {
    const key = freshKey();
    const path = processLockPath(key);
    expect(processLockHeld(key)).toBe(false);

    const release = await takeProcessLock(key);
    expect(processLockHeld(key)).toBe(true);
    release();
    expect(processLockHeld(key)).toBe(false);

    mkdirSync(path); // another process between its mkdir and its write
    expect(processLockHeld(key)).toBe(true);
    const old = (Date.now() - OWNERLESS_GRACE_MS - 1_000) / 1000;
    utimesSync(path, old, old);
    expect(processLockHeld(key)).toBe(false);

    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(path, 'pid'), exited.stdout);
    expect(processLockHeld(key)).toBe(false);
  });
});
