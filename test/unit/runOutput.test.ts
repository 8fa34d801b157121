/**
 * Where bench and chaos runs write (infra/runOutput.ts): into an ignored folder unless `--out`
 * names another, the published files only with `--publish`, and `--publish` refused, before any
 * work, by a quick or partial run of each script.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { runOutput, writeRunFile, wroteLine } from '../../infra/runOutput.ts';

/** The published files a run may write, each with its content and modification time. */
function publishedFiles(): Map<string, { text: string; mtimeMs: number }> {
  const paths = [
    'bench/results/latest.json',
    'bench/results/hot-items.json',
    'chaos/results/latest.json',
    'chaos/results/latest-strict.json',
    'docs/BENCHMARKS.md',
  ];
  return new Map(
    paths.map((path) => {
      const full = join(projectRoot, path);
      return [path, { text: readFileSync(full, 'utf8'), mtimeMs: statSync(full).mtimeMs }];
    }),
  );
}

function script(path: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, path), ...args],
      { cwd: projectRoot, timeout: 60_000 },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'fnmesh-run-output-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('runOutput', () => {
  it('writes into <tool>/out/ by default, or where --out says, and publishes only with --publish', () => {
    expect(runOutput('bench', { args: ['--quick'] })).toEqual({ dir: join(projectRoot, 'bench', 'out'), publish: false });
    expect(runOutput('chaos', { args: ['--json', '--out', scratch, '--seed', '3'] })).toEqual({ dir: scratch, publish: false });
    expect(runOutput('chaos', { args: ['--publish'] })).toEqual({ dir: join(projectRoot, 'chaos', 'out'), publish: true });
  });

  it('is ignored by git where it writes by default', () => {
    const ignore = readFileSync(join(projectRoot, '.gitignore'), 'utf8').split('\n');
    expect(ignore).toContain('bench/out/');
    expect(ignore).toContain('chaos/out/');
  });

  it('writes a run file only into the run folder unless publishing, and says so', () => {
    // Prepare
    const before = publishedFiles();
    const output = { dir: scratch, publish: false };

    // Act
    const written = writeRunFile(output, 'latest.json', '{}\n', 'bench/results/latest.json');

    // Assess
    expect(written).toEqual([join(scratch, 'latest.json')]);
    expect(readFileSync(join(scratch, 'latest.json'), 'utf8')).toBe('{}\n');
    expect(publishedFiles()).toEqual(before);
    expect(wroteLine(output, written)).toMatch(/published files untouched/);
    expect(wroteLine({ dir: scratch, publish: true }, written)).not.toMatch(/untouched/);
  });
});

describe('--publish on a run that may not publish', () => {
  it.each([
    ['bench/run.ts', ['--quick', '--publish']],
    ['chaos/run.ts', ['--quick', '--publish', '--no-strict']],
    ['bench/hotItems.ts', ['--only', 'waitGroupShards', '--publish']],
  ])(
    '%s %j exits 2 before any work, the published files untouched',
    async (path, args) => {
      const before = publishedFiles();

      const { code, stderr } = await script(path, args);

      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(/^--publish writes the figures the docs cite, which come from a full run; this is a (quick|partial) run/);
      expect(publishedFiles()).toEqual(before);
    },
    60_000,
  );
});
