/**
 * Port of LocalStack's test handler `lambda_sqs_batch_item_failure.py`. Each record's body carries
 * `fail_attempts`; a record is reported in `batchItemFailures` while its receive count is at most
 * that. `OVERWRITE_RESULT` (JSON if it parses) replaces the answer; with `DESTINATION_QUEUE_URL`
 * set, `{event, result}` is sent there.
 */
import type { SQSEvent } from 'aws-lambda';
import { sendJson } from './sqs.ts';
import { print } from './print.ts';

export const handler = async (event: SQSEvent) => {
  print('incoming event:');
  print(JSON.stringify(event));
  if (!event.Records?.length) throw new Error('no records passed to event');

  const failed: string[] = [];
  for (const record of event.Records) {
    const message = JSON.parse(record.body) as { fail_attempts?: number | null };
    if (message.fail_attempts === undefined || message.fail_attempts === null) throw new Error('no fail_attempts for the event given');
    if (message.fail_attempts >= Number(record.attributes.ApproximateReceiveCount)) failed.push(record.messageId);
  }

  let result: unknown = { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  const overwrite = process.env.OVERWRITE_RESULT;
  if (overwrite !== undefined) {
    try {
      result = JSON.parse(overwrite);
    } catch {
      result = overwrite;
    }
  }
  if (process.env.DESTINATION_QUEUE_URL) await sendJson(process.env.DESTINATION_QUEUE_URL, { event, result });
  return result;
};
