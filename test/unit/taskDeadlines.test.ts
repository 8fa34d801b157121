/**
 * Task deadlines and lost tasks, the pure parts: which tasks are overdue and when to look next,
 * reading task items back, the deadline option, and reading Lambda's on-failure records.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { MeshConfigError } from '../../lib/errors.ts';
import {
  checkTaskTimeout,
  DEFAULT_TASK_TIMEOUT_MS,
  overdueTasks,
  type RunningTask,
  runningTaskOf,
  TaskDeadlines,
} from '../../lib/spawn/deadlines.ts';
import { envelope, type TaskRef } from '../../lib/spawn/go.ts';
import { lostTaskOf } from '../../lib/spawn/lostTasks.ts';

const task = (taskId: string, deadline: number): RunningTask => ({ taskId, functionName: 'fn', startedAt: deadline - 1000, deadline });

describe('overdueTasks', () => {
  it('takes the tasks whose deadline has come, and looks next at the earliest other deadline', () => {
    const { overdue, nextCheckAt } = overdueTasks([task('a', 100), task('b', 250), task('c', 200), task('d', 300)], 200, 10_000);

    expect(overdue.map((t) => t.taskId)).toEqual(['a', 'c']);
    expect(nextCheckAt).toBe(250);
  });

  it('with nothing left running, looks again one timeout later (for tasks started elsewhere)', () => {
    expect(overdueTasks([], 1000, 500)).toEqual({ overdue: [], nextCheckAt: 1500 });
    expect(overdueTasks([task('far', 9000)], 1000, 500).nextCheckAt).toBe(1500);
  });
});

describe('runningTaskOf', () => {
  const group = { kind: 'group', tableName: 't', name: 'g' } as const;
  const item = (status: string, deadline?: number) => ({
    pk: { S: 'group#g' },
    sk: { S: 'task#t-1' },
    status: { S: status },
    functionName: { S: 'fn' },
    startedAt: { N: '100' },
    ...(deadline === undefined ? {} : { deadline: { N: String(deadline) } }),
  });

  it('reads a running task item back: its id from the sort key, its deadline', () => {
    expect(runningTaskOf(group, item('running', 900))).toEqual({ taskId: 't-1', functionName: 'fn', startedAt: 100, deadline: 900 });
    expect(runningTaskOf({ ...group, kind: 'waitgroup' }, { ...item('running', 900), sk: { S: 'done#t-2' } })?.taskId).toBe('t-2');
  });

  it('ignores a task that reported, and one without a deadline', () => {
    expect(runningTaskOf(group, item('failed', 900))).toBeUndefined();
    expect(runningTaskOf(group, item('running'))).toBeUndefined();
  });
});

describe('taskTimeoutMs', () => {
  it('defaults to 15 minutes, and takes a positive integer', () => {
    expect(checkTaskTimeout(undefined)).toBe(DEFAULT_TASK_TIMEOUT_MS);
    expect(DEFAULT_TASK_TIMEOUT_MS).toBe(900_000);
    expect(checkTaskTimeout(undefined, 1234)).toBe(1234);
    expect(checkTaskTimeout(1)).toBe(1);
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [Infinity]])('refuses %s', (value) => {
    expect(() => checkTaskTimeout(value)).toThrow(MeshConfigError);
  });
});

describe('TaskDeadlines', () => {
  // A real client whose every call fails the test: the watch must not call before a deadline.
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  client.middlewareStack.add(
    (_, context) => () => {
      throw new Error(`unexpected call ${context.commandName}`);
    },
    { step: 'initialize', name: 'noCalls' },
  );

  it('makes no call while no task was started by go, or before the earliest deadline it knows', async () => {
    let now = 1000;
    const deadlines = new TaskDeadlines(client, { kind: 'group', tableName: 't', name: 'g' }, 60_000, () => now);
    deadlines.started(5000);
    deadlines.started(3000);

    expect(await deadlines.recordOverdue(0)).toBe(0);
    expect(await deadlines.recordOverdue(2)).toBe(0);
    now = 2999;
    expect(await deadlines.recordOverdue(2)).toBe(0);
    now = 3000;
    await expect(deadlines.recordOverdue(2)).rejects.toThrow('unexpected call QueryCommand');
  });

  it('a waiter that started nothing looks at once, to learn the deadlines', async () => {
    const deadlines = new TaskDeadlines(client, { kind: 'waitgroup', tableName: 't', name: 'w' }, 60_000, () => 0);

    await expect(deadlines.recordOverdue(1)).rejects.toThrow('unexpected call QueryCommand');
  });
});

describe('lostTaskOf (on-failure destination records)', () => {
  const sample = JSON.parse(readFileSync(join(projectRoot, 'events', 'taskfailures.json'), 'utf8'));
  const ref: TaskRef = { kind: 'waitgroup', tableName: 'mesh', name: 'wg', taskId: 't-9', functionName: 'fnmesh-local-hello' };
  const record = (overrides: Record<string, unknown>) =>
    JSON.stringify({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: envelope(ref, {}),
      ...overrides,
    });

  it('reads events/taskfailures.json: the task, Lambda’s condition, the attempts and the last error', () => {
    expect(lostTaskOf(sample.Records[0].body, 'fnmesh-local-mesh')).toEqual({
      ok: true,
      task: {
        kind: 'group',
        tableName: 'fnmesh-local-mesh',
        name: 'events-sample-group',
        taskId: 'events-sample-task',
        functionName: 'fnmesh-local-square',
      },
      outcome: {
        ok: false,
        lost: true,
        errorType: 'RetriesExhausted',
        errorMessage: expect.stringMatching(
          /^Lambda gave up on the invocation \(RetriesExhausted, 3 attempts\); the last attempt failed with Runtime\.ExitError: /,
        ),
      },
    });
  });

  it('an event too old has no response: the condition alone', () => {
    const lost = lostTaskOf(record({ requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 1 } }), 'mesh');

    expect(lost).toMatchObject({
      ok: true,
      task: ref,
      outcome: { errorType: 'EventAgeExceeded', errorMessage: 'Lambda gave up on the invocation (EventAgeExceeded, 1 attempt)' },
    });
  });

  it.each([
    ['a body that is not JSON', '{', 'not JSON'],
    ['an untracked invocation', JSON.stringify({ requestPayload: { n: 3 } }), 'not a task envelope'],
    ['an unknown task kind', record({ requestPayload: envelope({ ...ref, kind: 'other' as never }, {}) }), 'unknown task kind'],
    ['a task id with a control character', record({ requestPayload: envelope({ ...ref, taskId: 'a\nb' }, {}) }), 'no valid'],
  ])('records nothing for %s', (_, body, reason) => {
    expect(lostTaskOf(body, 'mesh')).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('records nothing for a task of another mesh table (the worker never writes where an event says)', () => {
    expect(lostTaskOf(record({}), 'elsewhere')).toEqual({ ok: false, reason: 'the task belongs to table "mesh", not elsewhere' });
  });
});
