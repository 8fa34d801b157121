/**
 * square: a task of the squares fan-out (a Group task): task → task², stored as the task's
 * result. `failOnce: true` makes the first attempt at a task fail (the driver retries it), to
 * show that a failed and retried worker still yields exactly one result per task.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { check, describeIssues, InvalidInputError } from 'fnmesh';
import { taskCompletion } from 'fnmesh/middlewares';
import { z } from 'zod';
import { exampleKeys } from '../../lib/table/layout.ts';
import { dynamodb, tableName, tracer } from '../shared/clients.ts';
import { withMesh } from '../shared/withMesh.ts';
import { firstAttempt, InjectedFailureError } from '../shared/failOnce.ts';

export const squareTask = z.object({ runId: z.string().min(1), task: z.number().int(), failOnce: z.boolean().default(false) });

async function square(event: unknown) {
  const parsed = await check(squareTask, event);
  if (!parsed.ok) throw new InvalidInputError('event', describeIssues(parsed.issues));
  const { runId, task, failOnce } = parsed.value;
  if (failOnce && (await firstAttempt(dynamodb, tableName, runId, task)))
    throw new InjectedFailureError(`task ${task}: first attempt fails on purpose`);
  const result = task * task;
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { ...exampleKeys.runResult(runId, task), task: { N: String(task) }, result: { N: String(result) } },
    }),
  );
  return { task, result };
}

export const handler = withMesh(square, { tracer }).use(taskCompletion({ client: dynamodb, tableName }));
