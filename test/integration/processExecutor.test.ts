/**
 * fnmesh's `process` Lambda executor, through LocalStack's real Lambda API: functions created
 * from small handlers zipped here, invoked with the real SDK client.
 */
import { DeleteFunctionCommand, GetFunctionCommand, InvokeCommand, type Runtime } from '@aws-sdk/client-lambda';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { health } from '../../infra/localstack/localstack.ts';
import { lambda, logs as cloudWatchLogs, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { eventually } from '../helpers/eventually.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

const HANDLERS = {
  'index.js': `
const os = require('node:os');
class QuoteError extends Error {
  constructor(message) { super(message); this.name = 'QuoteError'; }
}
exports.echo = async (event, context) => {
  console.log('hello from the handler', { n: 1 });
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    remainingTimeMs: context.getRemainingTimeInMillis(),
    leakedLocalStackVariables: Object.keys(process.env).filter((key) => key.startsWith('LOCALSTACK_')),
  };
};
exports.fail = async () => { throw new QuoteError('no quote for you'); };
exports.sleep = async (event, context) => {
  // A file of this invocation's own in the temporary directory, then what that directory holds.
  const fs = require('node:fs');
  const mine = require('node:path').join(os.tmpdir(), 'fnmesh-mark-' + context.awsRequestId);
  fs.writeFileSync(mine, 'x');
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  const marks = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('fnmesh-mark-'));
  return { slept: event.ms, pid: process.pid, mine: require('node:path').basename(mine), marks };
};
exports.exit = async (event) => {
  if (event.exit) process.exit(3);
  return { pid: process.pid };
};
exports.callback = (event, context, callback) => { setTimeout(() => callback(null, { via: 'callback' }), 10); };
exports.notAFunction = 42;
`,
  'broken.js': 'exports.handler = async () => { return 1 +; };\n',
  'throws-at-init.js': "throw new TypeError('cannot start: missing configuration');\n",
};

const suffix = uniqueSuffix();
const FUNCTIONS = {
  echo: { handler: 'index.echo', timeout: 3 },
  fail: { handler: 'index.fail', timeout: 3 },
  sleepShort: { handler: 'index.sleep', timeout: 1 },
  sleepLong: { handler: 'index.sleep', timeout: 10 },
  exit: { handler: 'index.exit', timeout: 3 },
  callback: { handler: 'index.callback', timeout: 3 },
  missingFile: { handler: 'missing.handler', timeout: 3 },
  syntaxError: { handler: 'broken.handler', timeout: 3 },
  notExported: { handler: 'index.nope', timeout: 3 },
  notAFunction: { handler: 'index.notAFunction', timeout: 3 },
  initThrows: { handler: 'throws-at-init.handler', timeout: 3 },
} as const;
type FunctionKey = keyof typeof FUNCTIONS;

const nameOf = (key: string) => `fnmesh-test-${key}-${suffix}`;
const zip = zipSync(Object.fromEntries(Object.entries(HANDLERS).map(([file, source]) => [file, strToU8(source)])));

async function createFunction(name: string, handler: string, timeout: number, runtime: Runtime = 'nodejs20.x') {
  // A runtime the executor refuses never becomes active: its test waits for the failure itself.
  const active = runtime.startsWith('nodejs') ? {} : { active: false as const };
  await createInlineFunction(lambda, { name, code: zip, handler, runtime, timeout, memorySize: 128, ...active });
}

interface Invocation {
  functionError: string | undefined;
  body: any;
  logs: string;
}

async function invoke(key: FunctionKey, event: unknown = {}): Promise<Invocation> {
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: nameOf(key),
      Payload: Buffer.from(JSON.stringify(event)),
      LogType: 'Tail',
    }),
  );
  const text = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
  return {
    functionError: response.FunctionError,
    body: text ? JSON.parse(text) : undefined,
    logs: Buffer.from(response.LogResult ?? '', 'base64').toString('utf8'),
  };
}

beforeAll(async () => {
  await Promise.all(
    Object.entries(FUNCTIONS).map(async ([key, { handler, timeout }]) => {
      await createFunction(nameOf(key), handler, timeout);
    }),
  );
});

afterAll(async () => {
  const names = [...Object.keys(FUNCTIONS).map(nameOf), nameOf('python')];
  await Promise.allSettled(names.map((name) => lambda.send(new DeleteFunctionCommand({ FunctionName: name }))));
});

describe('process executor', () => {
  describe('a handler that returns', () => {
    it('gets the event and a complete Lambda context, and its result comes back', async () => {
      const { functionError, body, logs } = await invoke('echo', { hello: 'world' });

      expect(functionError).toBeUndefined();
      expect(body.event).toEqual({ hello: 'world' });
      expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.functionName).toBe(nameOf('echo'));
      expect(body.invokedFunctionArn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${nameOf('echo')}`);
      expect(body.memoryLimitInMB).toBe('128');
      expect(body.remainingTimeMs).toBeGreaterThan(0);
      expect(body.remainingTimeMs).toBeLessThanOrEqual(3000);
      expect(body.leakedLocalStackVariables).toEqual([]);
      // Logs arrive with the response, console lines in the AWS runtime's format.
      expect(logs).toContain(`START RequestId: ${body.requestId}`);
      expect(logs).toMatch(new RegExp(`\\t${body.requestId}\\tINFO\\thello from the handler \\{ n: 1 \\}`));
      expect(logs).toContain(`END RequestId: ${body.requestId}`);
      expect(logs).toMatch(/REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB/);
    });

    it("streams the function's output to CloudWatch Logs", async () => {
      const { body } = await invoke('echo', { to: 'cloudwatch' });

      const lines = await eventually(async () => {
        const { events = [] } = await cloudWatchLogs
          .send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${nameOf('echo')}` }))
          .catch(() => ({ events: [] }));
        const mine = events.map((event) => event.message ?? '').filter((message) => message.includes(body.requestId));
        return mine.some((message) => message.startsWith('REPORT')) ? mine : undefined;
      }, 'the invocation in CloudWatch Logs');
      expect(lines.some((line) => /\tINFO\thello from the handler/.test(line))).toBe(true);
      expect(lines[0]).toMatch(/^START RequestId: /);
    });

    it('supports callback-style handlers', async () => {
      const { functionError, body } = await invoke('callback');

      expect(functionError).toBeUndefined();
      expect(body).toEqual({ via: 'callback' });
    });
  });

  describe('a handler that throws', () => {
    it('reports FunctionError with errorType, errorMessage and trace intact', async () => {
      const { functionError, body, logs } = await invoke('fail');

      expect(functionError).toBe('Unhandled');
      expect(body.errorType).toBe('QuoteError');
      expect(body.errorMessage).toBe('no quote for you');
      expect(body.trace[0]).toBe('QuoteError: no quote for you');
      expect(logs).toContain('Invoke Error');
    });
  });

  describe('a handler that runs past its timeout', () => {
    it('is stopped at the timeout, and the environment serves the next invoke', async () => {
      const startedAt = Date.now();
      const timedOut = await invoke('sleepShort', { ms: 5000 });
      const elapsedMs = Date.now() - startedAt;

      expect(timedOut.functionError).toBe('Unhandled');
      expect(timedOut.body.errorType).toBe('Sandbox.Timedout');
      expect(timedOut.body.errorMessage).toMatch(/Task timed out after 1\.00 seconds$/);
      expect(elapsedMs).toBeLessThan(4500); // not the handler's 5 s

      const next = await invoke('sleepShort', { ms: 10 });
      expect(next.functionError).toBeUndefined();
      expect(next.body.slept).toBe(10);
    });
  });

  describe('a handler that calls process.exit', () => {
    it('fails the invoke with Runtime.ExitError and a fresh runtime serves the next invoke', async () => {
      const before = await invoke('exit', { exit: false });
      const exited = await invoke('exit', { exit: true });
      const after = await invoke('exit', { exit: false });

      expect(exited.functionError).toBe('Unhandled');
      expect(exited.body.errorType).toBe('Runtime.ExitError');
      expect(exited.body.errorMessage).toContain('Runtime exited with error: exit status 3');
      expect(after.functionError).toBeUndefined();
      expect(after.body.pid).not.toBe(before.body.pid);
    });
  });

  describe('concurrent invokes', () => {
    it('each get their own execution environment, with a temporary directory of its own', async () => {
      const results = await Promise.all([1, 2, 3].map(() => invoke('sleepLong', { ms: 1500 })));

      for (const result of results) expect(result.functionError).toBeUndefined();
      expect(new Set(results.map((result) => result.body.pid)).size).toBe(3);
      // Each sees the file it wrote and none of the others' (a fresh environment has no earlier ones).
      for (const result of results) expect(result.body.marks).toEqual([result.body.mine]);
    });
  });

  describe('bad code and bad input', () => {
    it.each([
      ['missingFile', 'Runtime.ImportModuleError', /Cannot find module 'missing'/],
      ['syntaxError', 'Runtime.UserCodeSyntaxError', /SyntaxError/],
      ['notExported', 'Runtime.HandlerNotFound', /index\.nope is undefined or not exported/],
      ['notAFunction', 'Runtime.HandlerNotFound', /index\.notAFunction is not a function/],
      ['initThrows', 'TypeError', /cannot start: missing configuration/],
    ] as const)('%s: the invoke fails with %s', async (key, errorType, message) => {
      const { functionError, body } = await invoke(key);

      expect(functionError).toBe('Unhandled');
      expect(body.errorType).toBe(errorType);
      expect(body.errorMessage).toMatch(message);
    });

    it('fails an event that is not JSON with a clear error, without calling the handler', async () => {
      // AWS rejects such a payload at the API (InvalidRequestContentException); LocalStack passes
      // it through, so the runtime refuses it.
      const response = await lambda.send(
        new InvokeCommand({ FunctionName: nameOf('echo'), Payload: Buffer.from('{not json'), LogType: 'Tail' }),
      );
      const body = JSON.parse(Buffer.from(response.Payload!).toString('utf8'));

      expect(response.FunctionError).toBe('Unhandled');
      expect(body.errorType).toBe('Runtime.UnmarshalError');
      expect(body.errorMessage).toMatch(/Unable to parse the event as JSON/);
      expect(Buffer.from(response.LogResult!, 'base64').toString('utf8')).not.toContain('hello from the handler');
    });

    it('fails a function whose runtime is not Node.js with the reason, at creation', async () => {
      await createFunction(nameOf('python'), 'index.echo', 3, 'python3.12');

      const state = await eventually(async () => {
        const { Configuration } = await lambda.send(new GetFunctionCommand({ FunctionName: nameOf('python') }));
        return Configuration?.State === 'Pending' ? undefined : Configuration;
      }, 'the python function to leave Pending');
      expect(state.State).toBe('Failed');
      expect(state.StateReason).toMatch(/runtime python3\.12 is not supported/);
    });

    it('leaves LocalStack healthy after all of the above', async () => {
      const status = await health();

      expect(status?.services.lambda).toMatch(/running|available/);
      const { functionError } = await invoke('echo', {});
      expect(functionError).toBeUndefined();
    });
  });
});
