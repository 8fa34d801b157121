/**
 * Port of LocalStack's test handler `lambda_sqs_integration.py`. Expects one SQS record whose body is
 * `{"destination": <queue url>, "fail_attempts": n}`; fails while the record's receive count is at
 * most n, and after every attempt reports `{error, event}` to the destination queue (SQS event-source
 * mappings have no destinations of their own).
 */
import type { SQSEvent } from 'aws-lambda';
import { sendJson } from './sqs.ts';

export const handler = async (event: SQSEvent) => {
  if ((event.Records ?? []).length !== 1) throw new Error('the payload must consist of exactly one record');
  const record = event.Records[0]!;
  const message = JSON.parse(record.body) as { destination?: string; fail_attempts: number };
  if (!message.destination) throw new Error('no destination for the event given');

  let error: string | null = null;
  try {
    if (message.fail_attempts >= Number(record.attributes.ApproximateReceiveCount)) {
      error = 'failed attempt';
      throw new Error(error);
    }
  } finally {
    await sendJson(message.destination, { error, event });
  }
};
