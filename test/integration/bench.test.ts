/**
 * The benchmark harness works (`npm run bench -- --smoke --out <temporary folder>`): it runs to
 * the end, writes every documented key and the report into its folder, and leaves the published
 * figures alone. Benchmarks are not tests: no timing is checked here, only the exact call counts,
 * which do not depend on the machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TARGETS } from '../../bench/results.ts';
import { projectRoot } from '../../infra/localstack/localstack.ts';

import { useTheStack } from '../helpers/stack.ts';

useTheStack(); // the run's one deploy, shared (test/helpers/stack.ts)

const out = mkdtempSync(join(tmpdir(), 'fnmesh-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The published figures (results, page and charts), each with its content and modification time. */
function publishedFiles(): Map<string, { bytes: Buffer; mtimeMs: number }> {
  const charts = readdirSync(join(projectRoot, 'docs', 'benchmarks')).map((file) => join('docs', 'benchmarks', file));
  return new Map(
    ['bench/results/latest.json', 'bench/results/hot-items.json', 'docs/BENCHMARKS.md', ...charts].map((path) => {
      const full = join(projectRoot, path);
      return [path, { bytes: readFileSync(full), mtimeMs: statSync(full).mtimeMs }];
    }),
  );
}

describe('npm run bench -- --smoke', () => {
  it('writes latest.json with every key and the exact call counts, and renders the report, into its folder only', async () => {
    const published = publishedFiles();
    expect(published.size).toBeGreaterThan(3);
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(projectRoot, 'bench', 'run.ts'), '--smoke', '--out', out],
        {
          cwd: projectRoot,
          timeout: 400_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr }),
      );
    });

    expect(result.code, result.stderr).toBe(0);
    const latest = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(Object.keys(latest.apiCallsPerOp).sort()).toEqual([
      'channelSendReceiveAck',
      'channelSendReceiveAckUnbatched',
      'lockUnlock',
      'once',
      'rpcCall',
      'waitGroupDone',
    ]);
    expect(Object.keys(latest.ratios).sort()).toEqual([
      'channelThroughputVsRaw',
      'fairLockP99OverP50',
      'fairLockP99OverP50Apart',
      'fairLockThroughputVsPolling',
      'fairLockThroughputVsPollingApart',
      'hashRingLookupsVsHashring',
      'lockLatencyVsRaw',
      'pollingLockP99OverP50',
      'pollingLockP99OverP50Apart',
      'rpcLatencyVsRaw',
    ]);
    expect(latest.apiCallsPerOp.lockUnlock.dynamodb).toBe(2);
    expect(latest.apiCallsPerOp.waitGroupDone.dynamodb).toBe(1);
    expect(latest.apiCallsPerOp.rpcCall.lambda).toBe(1);
    // The calls behind them, with refusals counted (none on the default LocalStack).
    expect(latest.wireCalls).toContainEqual({
      op: 'waitGroupDone',
      ops: 10,
      call: 'DynamoDB.TransactWriteItems',
      attempts: 10,
      conflicts: 0,
      throttled: 0,
    });
    expect(new Set(latest.wireCalls.map((row: { op: string }) => row.op))).toEqual(new Set(Object.keys(latest.apiCallsPerOp)));
    expect(latest.curves.lockContention.map((point: { contenders: number }) => point.contenders)).toEqual([1, 2, 4, 8, 16]);
    expect(latest.curves.fanOut.map((point: { shards: number }) => point.shards)).toEqual([1, 2, 4]);
    expect(latest.targets).toEqual(TARGETS);
    expect(readFileSync(join(out, 'BENCHMARKS.md'), 'utf8')).toContain('latest.json');
    expect(readdirSync(join(out, 'benchmarks')).sort()).toEqual(
      [...published.keys()]
        .filter((path) => path.endsWith('.svg'))
        .map((path) => path.split('/').at(-1))
        .sort(),
    );
    // A smoke run leaves the published figures as they were, and says where it wrote instead.
    expect(publishedFiles()).toEqual(published);
    expect(result.stderr).toContain(`wrote ${join(out, 'latest.json')}`);
    expect(result.stderr).toContain('published files untouched');
  }, 420_000);
});
