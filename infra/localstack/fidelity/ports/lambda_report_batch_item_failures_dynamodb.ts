/**
 * Port of LocalStack's test handler `lambda_report_batch_item_failures_dynamodb.py`: every stream
 * record whose new image has `should_fail: true` is reported by its sequence number.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { print } from './print.ts';

export const handler = async (event: DynamoDBStreamEvent) => {
  print(JSON.stringify(event));
  const batchItemFailures = (event.Records ?? [])
    .filter((record) => record.dynamodb?.NewImage?.should_fail?.BOOL === true)
    .map((record) => ({ itemIdentifier: record.dynamodb!.SequenceNumber! }));
  return { batchItemFailures };
};
