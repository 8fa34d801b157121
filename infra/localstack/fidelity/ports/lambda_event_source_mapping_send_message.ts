/**
 * Port of LocalStack's test handler `lambda_event_source_mapping_send_message.py`: forwards the
 * records it was given, as one message, to the queue in `SQS_QUEUE_URL`; returns their count.
 */
import { sendJson } from './sqs.ts';

export const handler = async (event: { Records?: unknown[] }) => {
  const records = event.Records ?? [];
  await sendJson(process.env.SQS_QUEUE_URL!, records);
  return { count: records.length };
};
