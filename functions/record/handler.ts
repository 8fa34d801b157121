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
import { InvalidInputError } from '../../lib/errors.ts';
import { requireEnv } from '../shared/env.ts';
import { logger, withMesh } from '../shared/withMesh.ts';

const dynamodb = new DynamoDBClient({});
const tableName = requireEnv('MESH_TABLE');
const processor = new BatchProcessor(EventType.SQS);

export interface RecordMessage {
  id: string;
  value: string;
  fail?: boolean;
}

export function parseRecordMessage(body: string): RecordMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new InvalidInputError('body', 'not JSON', { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object') throw new InvalidInputError('body', 'expected an object');
  const { id, value, fail } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') throw new InvalidInputError('body.id', 'expected a non-empty string');
  if (typeof value !== 'string') throw new InvalidInputError('body.value', 'expected a string');
  if (fail !== undefined && typeof fail !== 'boolean') throw new InvalidInputError('body.fail', 'expected a boolean');
  return fail === undefined ? { id, value } : { id, value, fail };
}

async function recordOne(record: SQSRecord): Promise<void> {
  try {
    await store(record);
  } catch (err) {
    // The reason stays in the function's log: SQS moves the message to the DLQ without one.
    logger.error('message failed', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: err as Error });
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

export const handler = withMesh(record);
