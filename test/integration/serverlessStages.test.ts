/**
 * The two kinds of stage in serverless.yml: `local` only ever talks to a loopback endpoint, and
 * a real-AWS stage packages into a clean CloudFormation template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverless } from '../../infra/serverless/cli.ts';

const packageDir = mkdtempSync(join(tmpdir(), 'fnmesh-package-'));

afterAll(() => rmSync(packageDir, { recursive: true, force: true }));

describe('stage local', () => {
  it.each(['http://10.0.0.5:4566', 'https://sqs.us-east-1.amazonaws.com', 'http://localstack.example.com:4566'])(
    'refuses to deploy when AWS_ENDPOINT_URL is %s',
    async (endpoint) => {
      const result = await serverless(['deploy', '--stage', 'local'], { AWS_ENDPOINT_URL: endpoint });

      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('Stage "local" deploys only to LocalStack on this machine');
    },
  );
});

describe('a real-AWS stage', () => {
  it('packages into a CloudFormation template with no LocalStack specifics', async () => {
    const result = await serverless(['package', '--stage', 'dev', '--package', packageDir], {
      AWS_ENDPOINT_URL: '',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    });

    expect(result.code, result.stdout + result.stderr).toBe(0);
    const text = readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8');
    expect(text).not.toMatch(/localstack|127\.0\.0\.1|localhost|:4566/i);
    const template = JSON.parse(text);
    const functions = Object.values<any>(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.map((fn) => fn.Properties.FunctionName).sort()).toEqual(
      ['channel', 'counter', 'hello', 'ping', 'quoter', 'record', 'shard', 'square', 'taskfailures', 'worker'].map(
        (name) => `fnmesh-dev-${name}`,
      ),
    );
    // One role per function, none shared.
    const roles = functions.map((fn) => JSON.stringify(fn.Properties.Role));
    expect(new Set(roles).size).toBe(functions.length);
    for (const fn of functions) expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(template.Resources.MeshTable.Properties.TableName).toBe('fnmesh-dev-mesh');
    expect(template.Resources.SmokeQueue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
  });
});
