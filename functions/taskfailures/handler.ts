/**
 * taskfailures: the on-failure destination of the tracked workers (hello, square), through the
 * task-failures queue. Lambda sends it an asynchronous invocation it gave up on (every attempt
 * failed, or the event waited too long); the record carries the task envelope, and the task is
 * recorded as failed with Lambda's reason (`RetriesExhausted`, `EventAgeExceeded`), exactly once:
 * 1 TransactWriteItems per record of this mesh. A record that is not a task of this mesh (an
 * untracked invocation, another table) is logged and dropped; a record that could not be written
 * is reported as a batch item failure, redelivered, and dead-lettered after maxReceiveCount.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { recordLostTask, WaitGroupNegativeCounterError } from 'fnmesh';
import { dynamodb, tableName } from '../shared/clients.ts';
import { logger, withMesh } from '../shared/withMesh.ts';

const processor = new BatchProcessor(EventType.SQS);

async function recordOne(record: SQSRecord): Promise<void> {
  try {
    const outcome = await recordLostTask(dynamodb, tableName, record.body);
    if (outcome.result === 'ignored')
      logger.warn('not a task of this mesh: dropped', { messageId: record.messageId, reason: outcome.reason });
    else
      logger.info(
        outcome.result === 'recorded' ? 'task recorded as failed' : 'task had reported already, or was never started: nothing recorded',
        { ...outcome.task },
      );
  } catch (err) {
    // The wait group was counted down by hand meanwhile: there is nothing left to count out.
    if (err instanceof WaitGroupNegativeCounterError) return logger.warn('wait group already at zero: dropped', { error: err });
    logger.error('record failed', { messageId: record.messageId, error: err as Error });
    throw err;
  }
}

async function taskFailures(event: SQSEvent, context: Context) {
  return processPartialResponse(event, recordOne, processor, { context });
}

export const handler = withMesh(taskFailures, { sqs: true });
