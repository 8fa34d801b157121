/**
 * The local cloud for any Serverless service, not only fnmesh's: a project outside this repository
 * with a plain Node handler (no fnmesh import, no bundler; the AWS SDK is the one the Lambda
 * runtime provides) and an SQS-triggered function. From its folder `fnmesh local up` finds the
 * suite's LocalStack already running and reuses it (no second one), `local status` reports it,
 * osls deploys the unchanged serverless.yml to it (with `local env`'s variables, and through
 * `deployToLocalCloud`), a function answers an invocation, and a message sent to the queue is
 * consumed by the other. And in a project with no LocalStack running, `fnmesh local up` starts one
 * with its state in the project, which `status`, `logs` and `down` then see and stop.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../infra/localstack/clients.ts';
import {
  down,
  LOCALSTACK_ENDPOINT,
  LOCALSTACK_PORT,
  packageRoot,
  PLUGIN_MARKERS,
  strictByDefault,
} from '../../infra/localstack/localstack.ts';
import { freePort } from '../../infra/localstack/scratch.ts';
import { deployToLocalCloud } from '../../infra/localstack/testSetup.ts';

const SERVICE = `anyproject${randomUUID().slice(0, 8)}`;

const SERVERLESS_YML = `service: ${SERVICE}
frameworkVersion: '4'
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  stage: \${opt:stage, 'dev'}
functions:
  hello:
    handler: handler.hello
  consume:
    handler: handler.consume
    environment:
      SEEN_QUEUE_URL: !Ref Seen
    events:
      - sqs: { arn: !GetAtt Jobs.Arn, batchSize: 1 }
resources:
  Resources:
    Jobs: { Type: AWS::SQS::Queue, Properties: { QueueName: '\${self:service}-\${sls:stage}-jobs' } }
    Seen: { Type: AWS::SQS::Queue, Properties: { QueueName: '\${self:service}-\${sls:stage}-seen' } }
`;

const HANDLER_JS = `'use strict';
// A plain Node Lambda: no fnmesh, no bundler; the AWS SDK is the one the Lambda runtime provides.
const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');
const sqs = new SQSClient({});
exports.hello = async (event) => ({ greeting: 'hello, ' + event.name });
exports.consume = async (event) => {
  for (const record of event.Records)
    await sqs.send(new SendMessageCommand({ QueueUrl: process.env.SEEN_QUEUE_URL, MessageBody: 'consumed ' + record.body }));
};
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let project: string;

/** The environment of a shell in the project: the suite's port, nothing pointing at the repository. */
function shellEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FNMESH_PROJECT_DIR;
  delete env.AWS_ENDPOINT_URL;
  return { ...env, FNMESH_LOCALSTACK_PORT: String(LOCALSTACK_PORT), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

function run(command: string, args: string[], env = shellEnvironment(), cwd = project): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `fnmesh <args>` from a project's folder, through the repository's bin. */
async function fnmeshText(args: string[], env = shellEnvironment(), cwd = project): Promise<string> {
  const result = await run(process.execPath, [join(packageRoot, 'bin', 'fnmesh.js'), ...args], env, cwd);
  expect(result.code, `fnmesh ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** `fnmesh <args> --json` from a project's folder. */
async function fnmesh<T>(...args: string[]): Promise<T> {
  return JSON.parse(await fnmeshText([...args, '--json'])) as T;
}

describe('the local cloud for a Serverless service that does not use fnmesh', () => {
  const osls = join(packageRoot, 'node_modules', '.bin', 'serverless');
  const lambda = new LambdaClient(localClientConfig());
  const sqs = new SQSClient(localClientConfig());
  let variables: Record<string, string>;

  beforeAll(() => {
    project = realpathSync(mkdtempSync(join(tmpdir(), 'fnmesh-any-project-')));
    writeFileSync(join(project, 'serverless.yml'), SERVERLESS_YML);
    writeFileSync(join(project, 'handler.js'), HANDLER_JS);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: SERVICE, version: '1.0.0', private: true })}\n`);
    // osls installed in the project, as `npm install osls` leaves it.
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(osls, join(project, 'node_modules', '.bin', 'serverless'));
  });

  afterAll(async () => {
    if (variables) await run(osls, ['remove', '--stage', 'local'], shellEnvironment(variables));
    rmSync(project, { recursive: true, force: true });
  });

  it('is outside the repository', () => {
    expect(relative(packageRoot, project).startsWith('..')).toBe(true);
  });

  it('`fnmesh local up` from the project reuses the running LocalStack, and `local status` reports it', async () => {
    const up = await fnmesh<{ started: boolean; endpoint: string }>('local', 'up');
    expect(up).toMatchObject({ started: false, endpoint: LOCALSTACK_ENDPOINT });

    const status = await fnmesh<Record<string, unknown>>('local', 'status');
    expect(status).toMatchObject({
      endpoint: LOCALSTACK_ENDPOINT,
      running: true,
      fnmesh: true,
      strict: strictByDefault(),
      startedHere: false, // by the suite's setup, from elsewhere: not this project's to stop
      projectDir: project,
    });
    expect(status.startedIn).not.toBe(project);
    expect(status.pid).toEqual(expect.any(Number));
    expect(status.uptimeSeconds).toBeGreaterThan(0);
    expect((status.services as Record<string, string>).lambda).toBe('running');
    // Reusing a LocalStack leaves no state in the project.
    expect(existsSync(status.stateDir as string)).toBe(false);
  });

  it('osls deploys the unchanged serverless.yml with `fnmesh local env`, and again with deployToLocalCloud', async () => {
    variables = await fnmesh<Record<string, string>>('local', 'env');
    expect(variables).toEqual({
      AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const deployed = await run(osls, ['deploy', '--stage', 'local'], shellEnvironment(variables));
    expect(deployed.code, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout + deployed.stderr).toContain(`Service deployed to stack ${SERVICE}-local`);

    const again = await deployToLocalCloud({ cwd: project });
    expect(again).toMatch(new RegExp(`Service deployed to stack ${SERVICE}-local|No changes to deploy`));
  });

  it('a function answers an invocation', async () => {
    const answer = await lambda.send(
      new InvokeCommand({ FunctionName: `${SERVICE}-local-hello`, Payload: Buffer.from(JSON.stringify({ name: 'any project' })) }),
    );
    expect(answer.FunctionError, Buffer.from(answer.Payload ?? []).toString()).toBeUndefined();
    expect(JSON.parse(Buffer.from(answer.Payload!).toString())).toEqual({ greeting: 'hello, any project' });
  });

  it("a message sent to the queue is consumed by the queue's function", async () => {
    const queueUrl = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: `${SERVICE}-local-${name}` }))).QueueUrl!;
    const [jobs, seen] = await Promise.all([queueUrl('jobs'), queueUrl('seen')]);
    const job = `job-${randomUUID()}`;
    await sqs.send(new SendMessageCommand({ QueueUrl: jobs, MessageBody: job }));

    const bodies: string[] = [];
    const deadline = Date.now() + 60_000;
    while (!bodies.includes(`consumed ${job}`) && Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: seen, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }));
      bodies.push(...Messages.map((message) => message.Body!));
    }
    // Strict mode may deliver the job twice (as SQS may): consumed at least once, nothing else.
    expect(bodies).toContain(`consumed ${job}`);
    expect(new Set(bodies)).toEqual(new Set([`consumed ${job}`]));
  });
});

describe('`fnmesh local` in a project where no LocalStack runs yet', () => {
  let folder: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  const local = async <T>(...args: string[]) => JSON.parse(await fnmeshText(['local', ...args, '--json'], env, folder)) as T;

  beforeAll(async () => {
    folder = realpathSync(mkdtempSync(join(tmpdir(), 'fnmesh-own-cloud-')));
    writeFileSync(join(folder, 'package.json'), '{"name":"own-cloud","private":true}\n');
    port = await freePort();
    env = shellEnvironment({ FNMESH_LOCALSTACK_PORT: String(port) });
  });

  afterAll(async () => {
    await down({ instance: { port, stateDir: join(folder, `.localstack-${port}`) }, quiet: true, graceMs: 3000 });
    rmSync(folder, { recursive: true, force: true });
  });

  it('up starts one (strict mode off on request) with its state in the project; status, logs and down see it', async () => {
    const stateDir = join(folder, `.localstack-${port}`);
    expect(await local<{ running: boolean }>('status')).toMatchObject({ running: false, pid: null, startedHere: false, stateDir });

    const up = await local<{ started: boolean; pid: number; endpoint: string }>('up', '--no-strict');
    expect(up).toMatchObject({ started: true, endpoint: `http://127.0.0.1:${port}` });
    expect(existsSync(join(stateDir, 'localstack.pid'))).toBe(true);

    const status = await local<{ uptimeSeconds: number }>('status');
    expect(status).toMatchObject({ running: true, fnmesh: true, strict: false, pid: up.pid, startedHere: true, startedIn: folder });
    expect(status.uptimeSeconds).toBeLessThan(120);
    const log = await fnmeshText(['local', 'logs', '-n', '2000'], env, folder);
    for (const marker of PLUGIN_MARKERS) expect(log).toContain(marker);

    expect(await local('down')).toEqual({ stopped: true });
    expect(await local('status')).toMatchObject({ running: false, pid: null });
  });
});
