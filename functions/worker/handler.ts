/**
 * worker: the seed's worker pool. SQS-triggered on the tasks channel's queue; each task becomes
 * `{ task, result: task² }` on the results channel. Failed records are reported as batch item
 * failures (Powertools batch): redelivered, and dead-lettered after the queue's maxReceiveCount.
 * Duplicate deliveries are skipped (the channel's markers): a copy of a task another worker has in
 * hand comes back once that worker's hold ends, so every task yields one result.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Channel } from 'fnmesh';
import { z } from 'zod';
import { CHANNELS } from '../../infra/stack.ts';
import { dynamodb, sqs, tableName, tracer } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { invocationLogsField, logger, withMesh } from '../shared/withMesh.ts';
import { firstAttempt, InjectedFailureError } from '../shared/failOnce.ts';

export const poolTask = z.object({ runId: z.string().min(1), task: z.number().int(), failOnce: z.boolean().default(false) });
export const poolResult = z.object({ runId: z.string(), task: z.number().int(), result: z.number().int() });

const tasksQueueUrl = requireEnv('TASKS_QUEUE_URL');
const tasks = new Channel({
  sqs,
  dynamodb,
  tableName,
  name: CHANNELS.tasks,
  queueUrl: tasksQueueUrl,
  schema: poolTask,
  visibilityTimeoutSeconds: Number(requireEnv('QUEUE_VISIBILITY_SECONDS')),
});
const results = new Channel({
  sqs,
  dynamodb,
  tableName,
  name: CHANNELS.results,
  queueUrl: requireEnv('RESULTS_QUEUE_URL'),
  schema: poolResult,
});
const processor = new BatchProcessor(EventType.SQS);

async function work(record: SQSRecord): Promise<void> {
  await tasks.acceptRecord(record, ({ runId, task, failOnce }, envelope) =>
    // A hop whether the task succeeds or fails (a failed one links to this invocation's logs).
    tracer.span(
      { traceId: envelope.traceId, parent: envelope.id, kind: 'function', name: `worker: task ${task}`, ...invocationLogsField() },
      async () => {
        if (failOnce && (await firstAttempt(dynamodb, tableName, runId, task)))
          throw new InjectedFailureError(`task ${task}: first attempt fails on purpose`);
        await results.send({ runId, task, result: task * task }, { trace: { traceId: envelope.traceId, parent: envelope.id } });
      },
    ),
  );
}

async function pool(event: SQSEvent, context: Context) {
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      try {
        await work(record);
      } catch (err) {
        // Back soon (the channel's retry policy), not after the whole visibility timeout; a copy
        // of a task another worker has in hand, once that worker's hold ends.
        const retryInSeconds = await tasks.retryRecord(record, err);
        const receiveCount = Number(record.attributes.ApproximateReceiveCount);
        logger.warn('task failed, will be redelivered', { messageId: record.messageId, receiveCount, retryInSeconds, error: err as Error });
        throw err;
      }
    },
    processor,
    { context },
  );
}

export const handler = withMesh(pool, { sqs: true });
