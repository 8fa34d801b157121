/**
 * The Node.js runtime as AWS provides it, in fnmesh's `process` Lambda executor (issue 13): the AWS
 * SDK v3 on the module path for unbundled functions (CommonJS and ES modules, a bundled copy still
 * winning), AWS's environment and working directory, AWS_LAMBDA_EXEC_WRAPPER, the `awslambda`
 * global with response streaming through a function URL, AWS's timeout message, and function URLs
 * that this machine can call as CreateFunctionUrlConfig returns them. Real LocalStack, real clients.
 */
import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  GetFunctionUrlConfigCommand,
  InvokeCommand,
  type InvokeMode,
} from '@aws-sdk/client-lambda';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambda, sqs, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

const sdkUser = (how: string) => `
  const out = await new SQSClient({}).send(new ListQueuesCommand({ QueueNamePrefix: event.prefix }));
  return { how: '${how}', queueUrls: out.QueueUrls ?? [] };`;

const FILES: Zippable = {
  'cjs.js': strToU8(`
const { SQSClient, ListQueuesCommand } = require('@aws-sdk/client-sqs');
exports.handler = async (event) => {${sdkUser('require')}
};`),
  'esm.mjs': strToU8(`
import { SQSClient, ListQueuesCommand } from '@aws-sdk/client-sqs';
export const handler = async (event) => {${sdkUser('import')}
};`),
  'env.js': strToU8(`
const fs = require('node:fs');
exports.handler = async () => ({
  env: process.env,
  cwd: process.cwd(),
  homeExists: Boolean(process.env.HOME) && fs.existsSync(process.env.HOME),
  taskRootWritable: (() => { try { fs.accessSync(process.env.LAMBDA_TASK_ROOT, fs.constants.W_OK); return true; } catch { return false; } })(),
  taskRootHasCode: fs.existsSync(require('node:path').join(process.env.LAMBDA_TASK_ROOT, 'env.js')),
  nodeVersion: process.version,
});`),
  'sleep.js': strToU8(`
exports.handler = async () => { console.log('starting to wait'); await new Promise((r) => setTimeout(r, 5000)); return 'woke'; };`),
  'streaming.js': strToU8(`
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { 'Content-Type': 'text/plain', 'X-Streamed': 'yes' },
  });
  responseStream.write('Hello,');
  await new Promise((r) => setTimeout(r, 20));
  responseStream.write(Buffer.from(' world!'));
  responseStream.end();
});`),
  'url.js': strToU8(`
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ rawPath: event.rawPath, query: event.rawQueryString, domain: event.requestContext.domainName, body: event.body }),
});`),
  // A wrapper as AWS documents them: it gets the runtime's command line and execs it.
  'wrapper.sh': [
    strToU8('#!/bin/sh\nexport WRAPPED_BY=wrapper.sh\nexport WRAPPED_ARGS="$#"\nexec "$@"\n'),
    { os: 3, attrs: 0o100755 << 16 },
  ],
  // A function's own copy of a package the runtime also provides.
  'bundled/node_modules/@aws-sdk/client-sqs/package.json': strToU8(JSON.stringify({ name: '@aws-sdk/client-sqs', main: 'index.js' })),
  'bundled/node_modules/@aws-sdk/client-sqs/index.js': strToU8("exports.whose = 'bundled';\n"),
  'bundled/cjs.js': strToU8("exports.handler = async () => require('@aws-sdk/client-sqs').whose;\n"),
  'bundled/esm.mjs': strToU8("import { whose } from '@aws-sdk/client-sqs';\nexport const handler = async () => whose;\n"),
};
const zip = zipSync(FILES);

const suffix = uniqueSuffix();
const nameOf = (key: string) => `fnmesh-rt-${key}-${suffix}`;
const FUNCTIONS: Record<string, { handler: string; timeout?: number; environment?: Record<string, string> }> = {
  cjs: { handler: 'cjs.handler' },
  esm: { handler: 'esm.handler' },
  env: { handler: 'env.handler', environment: { TZ: 'Europe/Paris', MY_SETTING: 'x' } },
  wrapped: { handler: 'env.handler', environment: { AWS_LAMBDA_EXEC_WRAPPER: '/var/task/wrapper.sh' } },
  badWrapper: { handler: 'env.handler', environment: { AWS_LAMBDA_EXEC_WRAPPER: '/var/task/no-such-wrapper' } },
  sleep: { handler: 'sleep.handler', timeout: 1 },
  streaming: { handler: 'streaming.handler' },
  url: { handler: 'url.handler' },
  bundledCjs: { handler: 'bundled/cjs.handler' },
  bundledEsm: { handler: 'bundled/esm.handler' },
};

async function invoke(key: string, event: unknown = {}) {
  const response = await lambda.send(
    new InvokeCommand({ FunctionName: nameOf(key), Payload: Buffer.from(JSON.stringify(event)), LogType: 'Tail' }),
  );
  const text = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
  return {
    functionError: response.FunctionError,
    text,
    body: text ? JSON.parse(text) : undefined,
    logs: Buffer.from(response.LogResult ?? '', 'base64').toString('utf8'),
  };
}

async function functionUrl(key: string, invokeMode: InvokeMode): Promise<string> {
  const { FunctionUrl } = await lambda.send(
    new CreateFunctionUrlConfigCommand({ FunctionName: nameOf(key), AuthType: 'NONE', InvokeMode: invokeMode }),
  );
  await lambda.send(
    new AddPermissionCommand({
      FunctionName: nameOf(key),
      StatementId: 'public-url',
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    }),
  );
  return FunctionUrl!;
}

beforeAll(async () => {
  await Promise.all(
    Object.entries(FUNCTIONS).map(async ([key, { handler, timeout = 10, environment }]) => {
      await createInlineFunction(lambda, {
        name: nameOf(key),
        code: zip,
        handler,
        timeout,
        memorySize: 256,
        ...(environment ? { environment } : {}),
      });
    }),
  );
});

afterAll(async () => {
  await Promise.allSettled(Object.keys(FUNCTIONS).map((key) => lambda.send(new DeleteFunctionCommand({ FunctionName: nameOf(key) }))));
});

describe('the AWS SDK v3 from the runtime', () => {
  it('is found by require() and by import from an .mjs, without bundling, and works', async () => {
    const queue = `fnmesh-rt-q-${suffix}`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    for (const [key, how] of [
      ['cjs', 'require'],
      ['esm', 'import'],
    ] as const) {
      const { functionError, text, body } = await invoke(key, { prefix: queue });
      expect(functionError, text).toBeUndefined();
      expect(body).toEqual({ how, queueUrls: [QueueUrl] });
    }
  });

  it("loses to the function's own copy, for require() and for import", async () => {
    for (const key of ['bundledCjs', 'bundledEsm']) {
      const { functionError, text, body } = await invoke(key);
      expect(functionError, text).toBeUndefined();
      expect(body).toBe('bundled');
    }
  });
});

describe("the function's process", () => {
  it("has AWS's environment variables and runs in the task root", async () => {
    const { functionError, text, body } = await invoke('env');
    expect(functionError, text).toBeUndefined();
    const { env, cwd } = body;

    expect(env.LAMBDA_TASK_ROOT).toBe(cwd);
    expect(body.taskRootHasCode).toBe(true);
    expect(env.PWD).toBe(cwd);
    if (env.LAMBDA_TASK_ROOT === '/var/task') {
      // AWS's layout (a mount namespace of its own: root and unshare), with AWS's own values.
      expect(env.LAMBDA_RUNTIME_DIR).toBe('/var/runtime');
      expect(env.NODE_PATH).toBe(
        '/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task',
      );
      expect(body.taskRootWritable).toBe(false);
      expect(env.HOME).toBeUndefined();
    } else {
      // The host's layout: the same variables, naming the host's directories.
      expect(env.LAMBDA_RUNTIME_DIR).toMatch(/fnmesh_localstack\/runtime$/);
      expect(env.NODE_PATH.split(':')).toEqual([
        expect.stringMatching(/lambda-sdk-[0-9a-f]+\/v3\/node_modules$/),
        env.LAMBDA_RUNTIME_DIR,
        env.LAMBDA_TASK_ROOT,
      ]);
      expect(body.homeExists).toBe(true);
    }
    expect(env.AWS_EXECUTION_ENV).toBe('AWS_Lambda_nodejs20.x');
    expect(env._HANDLER).toBe('env.handler');
    expect(env.LANG).toBe('en_US.UTF-8');
    expect(env.PATH.split(':')[0]).toMatch(/bin$/); // node's directory first, as /var/lang/bin on AWS
    expect(env.LD_LIBRARY_PATH.split(':')).toContain(env.LAMBDA_TASK_ROOT);
    expect(env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(env.AWS_LAMBDA_INITIALIZATION_TYPE).toBe('on-demand');
    expect(env.AWS_XRAY_CONTEXT_MISSING).toBe('LOG_ERROR');
    expect(env._X_AMZN_TRACE_ID).toBeTruthy();
    // Variables a function may set keep its values.
    expect(env.TZ).toBe('Europe/Paris');
    expect(env.MY_SETTING).toBe('x');
    expect(Object.keys(env).filter((key) => key.startsWith('LOCALSTACK_'))).toEqual([]);
  });

  it('is started through AWS_LAMBDA_EXEC_WRAPPER, named by its path on AWS (/var/task/...)', async () => {
    const { functionError, text, body } = await invoke('wrapped');
    expect(functionError, text).toBeUndefined();
    expect(body.env.WRAPPED_BY).toBe('wrapper.sh');
    expect(Number(body.env.WRAPPED_ARGS)).toBeGreaterThanOrEqual(2); // node and the runtime's script
    expect(body.env.AWS_LAMBDA_EXEC_WRAPPER).toBe('/var/task/wrapper.sh');
  });

  it('cannot start when the wrapper does not exist, and says so', async () => {
    const { functionError, body } = await invoke('badWrapper');
    expect(functionError).toBe('Unhandled');
    expect(body.errorType).toBe('Runtime.InvalidEntrypoint');
    expect(body.errorMessage).toContain('no-such-wrapper');
  });
});

describe('a function past its timeout', () => {
  it("fails with AWS's message, and its log says so as AWS's does", async () => {
    const { functionError, body, logs } = await invoke('sleep');
    expect(functionError).toBe('Unhandled');
    expect(body).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/),
    });
    const requestId = body.errorMessage.split(' ')[1];
    expect(logs).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z ${requestId} Task timed out after 1\\.00 seconds\\n`));
    expect(logs).toMatch(new RegExp(`END RequestId: ${requestId}\\nREPORT RequestId: ${requestId}\\t.*Status: timeout`));
  });
});

describe('function URLs', () => {
  it('are callable from this machine as CreateFunctionUrlConfig returns them, with the event AWS gives', async () => {
    const url = await functionUrl('url', 'BUFFERED');
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const { FunctionUrl } = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: nameOf('url') }));
    expect(FunctionUrl).toBe(url);

    const response = await fetch(`${url}some/path?x=1`, { method: 'POST', body: 'ping', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Record<string, string>;
    expect(seen.rawPath).toBe('/some/path');
    expect(seen.query).toBe('x=1');
    expect(seen.body).toBe('ping');
    expect(seen.domain).toMatch(/^[a-z0-9-]+\.lambda-url\.us-east-1\./);

    const missing = url.replace(/\/[^/]+\/$/, '/doesnotexist0123456789abcdefghijk/');
    expect(missing).not.toBe(url);
    expect((await fetch(missing)).status).toBe(403);
  });

  it('stream a streamifyResponse handler: status, headers and the whole body', async () => {
    const url = await functionUrl('streaming', 'RESPONSE_STREAM');
    const response = await fetch(url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-streamed')).toBe('yes');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('Hello, world!');
  });
});
