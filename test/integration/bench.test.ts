/**
 * The benchmark harness works (`npm run bench -- --quick`, into a temporary folder): it runs to
 * the end and writes every documented key. Benchmarks are not tests: no timing is checked here,
 * only the exact call counts, which do not depend on the machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';

const out = mkdtempSync(join(tmpdir(), 'fnmesh-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('writes latest.json with every key and the exact call counts, and renders the report', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(projectRoot, 'bench', 'run.ts'), '--quick'],
        {
          cwd: projectRoot,
          env: { ...process.env, FNMESH_BENCH_OUT: join(out, 'latest.json'), FNMESH_BENCH_DOCS: out },
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
      'hashRingLookupsVsHashring',
      'lockLatencyVsRaw',
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
    expect(readFileSync(join(out, 'BENCHMARKS.md'), 'utf8')).toContain('latest.json');
  }, 420_000);
});
