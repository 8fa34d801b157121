/**
 * Security of what ships: the real-AWS template (packaged for stage `prod`) gives each function
 * least privilege on this stage's own resources, encrypts every queue and the table at rest, and
 * passes cfn-lint; the repository holds no credentials.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureToolVenv, projectRoot } from '../../infra/localstack/localstack.ts';
import { serverless } from '../../infra/serverless/cli.ts';

const packageDir = mkdtempSync(join(tmpdir(), 'fnmesh-security-'));
const templatePath = join(packageDir, 'cloudformation-template-update-stack.json');
type Resource = { Type: string; Properties: Record<string, any> };
let resources: Record<string, Resource>;

beforeAll(async () => {
  const result = await serverless(['package', '--stage', 'prod', '--region', 'eu-west-1', '--package', packageDir], {
    AWS_ENDPOINT_URL: '',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
  });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  resources = JSON.parse(readFileSync(templatePath, 'utf8')).Resources;
}, 120_000);

afterAll(() => rmSync(packageDir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const asList = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);

/** Which of the template's resources an IAM resource expression names (undefined: none of them). */
function scopedTo(resource: unknown): string | undefined {
  if (typeof resource === 'string') return undefined; // a literal ARN (or '*') is not tied to this stack
  const expression = resource as Record<string, any>;
  if (expression['Fn::GetAtt']) return expression['Fn::GetAtt'][0];
  if (expression.Ref) return expression.Ref;
  const sub = expression['Fn::Sub'] ?? expression['Fn::Join'];
  const text = JSON.stringify(sub);
  // The function's own log group, named after this stage's function.
  const logGroup = /log-group:\/aws\/lambda\/(fnmesh-prod-[a-z]+):\*/.exec(text);
  if (logGroup) return `log group of ${logGroup[1]}`;
  // This stage's table's index or stream, or its queues by name.
  const named = /(fnmesh-prod-[a-z0-9-]+)/.exec(text);
  return named?.[1];
}

describe('the packaged real-AWS template', () => {
  it('gives each function a role of its own, with no wildcard actions and every resource one of this stage', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.length).toBe(ofType('AWS::Lambda::Function').length);
    for (const [name, role] of roles) {
      expect(role.Properties.ManagedPolicyArns ?? [], `${name} has managed policies`).toEqual([]);
      for (const policy of role.Properties.Policies) {
        for (const statement of policy.PolicyDocument.Statement) {
          expect(statement.Effect).toBe('Allow');
          for (const action of asList<string>(statement.Action)) {
            expect(action, `${name}: ${action}`).toMatch(/^(logs|dynamodb|sqs|lambda):[A-Za-z]+$/);
            expect(action).not.toMatch(/^iam:|PassRole/);
          }
          for (const resource of asList(statement.Resource)) {
            const scope = scopedTo(resource);
            expect(scope, `${name}: ${JSON.stringify(resource)} is not one of this stage's resources`).toBeDefined();
            if (!scope!.startsWith('log group') && !scope!.startsWith('fnmesh-prod-')) expect(Object.keys(resources)).toContain(scope);
          }
        }
      }
    }
  });

  it('writes logs only to the function’s own log group', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const roleName = fn.Properties.Role['Fn::GetAtt'][0];
      const statements = resources[roleName]!.Properties.Policies.flatMap((policy: any) => policy.PolicyDocument.Statement);
      const logs = statements.filter((statement: any) => asList<string>(statement.Action).some((action) => action.startsWith('logs:')));
      for (const statement of logs) expect(scopedTo(statement.Resource)).toBe(`log group of ${fn.Properties.FunctionName}`);
    }
  });

  it('encrypts every queue and the table at rest', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    for (const [name, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled || queue.Properties.KmsMasterKeyId, name).toBeTruthy();
    for (const [name, table] of ofType('AWS::DynamoDB::Table')) expect(table.Properties.SSESpecification?.SSEEnabled, name).toBe(true);
  });

  it('passes cfn-lint (pinned, from PyPI)', async () => {
    const python = await ensureToolVenv('cfn-lint', join(projectRoot, 'infra', 'tools', 'cfn-lint-requirements.txt'));
    const lint = spawnSync(
      python,
      [
        '-c',
        'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())',
        '--regions',
        'eu-west-1',
        // W3005 (a DependsOn that a GetAtt already implies): the Serverless Framework adds a
        // DependsOn on each function's role itself; serverless.yml has no say in it.
        '--ignore-checks',
        'W3005',
        '--',
        templatePath,
      ],
      { encoding: 'utf8' },
    );
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  }, 300_000);
});

describe('the repository', () => {
  it('holds no AWS credentials', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: projectRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
    const offenders: string[] = [];
    for (const file of files) {
      if (/\.(svg|png|zip)$/.test(file)) continue;
      const text = readFileSync(join(projectRoot, file), 'utf8');
      // Access key ids (AKIA/ASIA + 16), and secret keys assigned in config or code.
      if (/\b(AKIA|ASIA)[A-Z0-9]{16}\b/.test(text)) offenders.push(`${file}: access key id`);
      for (const match of text.matchAll(
        /(aws_secret_access_key|secretAccessKey|AWS_SECRET_ACCESS_KEY)\s*[:=]\s*['"]?([A-Za-z0-9/+]{40})\b/g,
      ))
        offenders.push(`${file}: secret key ${match[2]!.slice(0, 4)}…`);
    }
    expect(offenders).toEqual([]);
  });
});
