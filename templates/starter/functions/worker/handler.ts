/**
 * worker: consumes the `jobs` channel. SQS triggers it with batches of the channel's messages;
 * each record goes through `jobs.acceptRecord`, which holds the value (no other receiver runs it
 * meanwhile), runs the body, and counts it out of the channel once the body succeeds. A copy of a
 * job already handled is skipped (SQS delivers at least once).
 *
 * A record that fails is reported in `batchItemFailures` (the function's event source mapping
 * sets `functionResponseType: ReportBatchItemFailures`): only it comes back, not the whole
 * batch. `jobs.retryRecord` brings it back after the channel's retry delay (1 s, doubling)
 * instead of the whole visibility timeout; after the queue's maxReceiveCount deliveries it goes to
 * the dead-letter queue. A message that is not one of the channel's envelopes is not retried: the
 * dead-letter queue takes it.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MalformedEnvelopeError } from 'fnmesh';
import { dynamodb, tableName } from '../shared/env.ts';
import { type Job, jobs, resultKey } from '../shared/jobs.ts';

/** The job's work: counts its words, and writes the result as the item `job#<id>`. */
async function work(job: Job, messageId: string): Promise<void> {
  const words = job.text.split(/\s+/).filter(Boolean).length;
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { ...resultKey(job.id), words: { N: String(words) }, text: { S: job.text }, messageId: { S: messageId } },
    }),
  );
  console.log(JSON.stringify({ message: 'job done', id: job.id, words }));
}

async function handle(record: SQSRecord): Promise<void> {
  try {
    await jobs.acceptRecord(record, (job, envelope) => work(job, envelope.id));
  } catch (err) {
    if (!(err instanceof MalformedEnvelopeError)) await jobs.retryRecord(record, err);
    console.error(JSON.stringify({ message: 'job failed', messageId: record.messageId, error: String(err) }));
    throw err;
  }
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(event.Records.map(handle));
  const failed = event.Records.filter((_, index) => outcomes[index]?.status === 'rejected');
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}
