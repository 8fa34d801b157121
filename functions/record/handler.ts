/**
 * record: the smoke stack's SQS-triggered function. Each message `{ "id": "...", "value": "..." }`
 * is written to the mesh table as item `smoke#<id>` (a put keyed by the id, so a redelivered
 * message writes the same item again: idempotent). A message that is not valid, or that asks to
 * fail (`"fail": true`), is reported as a batch item failure, redelivered, and after the queue's
 * maxReceiveCount moved to the dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.ts';
import { logger, withMesh } from '../shared/withMesh.ts';
import { parseRecordMessage } from './message.ts';

const dynamodb = new DynamoDBClient({});
const tableName = requireEnv('MESH_TABLE');
const processor = new BatchProcessor(EventType.SQS);

async function recordOne(record: SQSRecord): Promise<void> {
  try {
    await store(record);
  } catch (err) {
    // The reason stays in the function's log: SQS moves the message to the DLQ without one.
    logger.error('message failed', {
      messageId: record.messageId,
      receiveCount: record.attributes.ApproximateReceiveCount,
      error: err as Error,
    });
    throw err;
  }
}

async function store(record: SQSRecord): Promise<void> {
  const message = parseRecordMessage(record.body);
  if (message.fail) throw new Error(`message ${message.id} asked to fail`);
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        pk: { S: `smoke#${message.id}` },
        sk: { S: 'record' },
        value: { S: message.value },
        messageId: { S: record.messageId },
        receiveCount: { N: record.attributes.ApproximateReceiveCount },
      },
    }),
  );
  logger.info('recorded', { id: message.id, messageId: record.messageId });
}

async function record(event: SQSEvent, context: Context) {
  return processPartialResponse(event, recordOne, processor, { context });
}

export const handler = withMesh(record, { sqs: true });
