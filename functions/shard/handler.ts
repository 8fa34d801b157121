/**
 * shard: a worker behind a ShardedChannel. SQS-triggered on every shard's queue; records which
 * shard each key arrived on (`ADD shards :this`), so the driver can check that a key only ever
 * reaches one shard. A batch's records are accepted together (Channel.acceptRecords).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Channel, type Envelope } from 'fnmesh';
import { z } from 'zod';
import { shardName } from '../../infra/stack.ts';
import { exampleKeys } from '../../lib/table/layout.ts';
import { dynamodb, sqs, tableName, tracer } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { invocationLogsField, logger, withMesh } from '../shared/withMesh.ts';

export const shardMessage = z.object({ runId: z.string().min(1), key: z.string().min(1) });
const processor = new BatchProcessor(EventType.SQS);
const channels = new Map<string, Channel<z.infer<typeof shardMessage>>>();
const visibilityTimeoutSeconds = Number(requireEnv('QUEUE_VISIBILITY_SECONDS'));

function channelFor(record: SQSRecord) {
  const name = shardName(record.eventSourceARN);
  let channel = channels.get(name);
  if (!channel) {
    // This worker only accepts records the event source hands it: the channel never polls or
    // sends, so its queue URL is only an identity (derived from the ARN).
    const [, region, account, queue] = record.eventSourceARN.split(':').slice(2);
    const queueUrl = `https://sqs.${region}.amazonaws.com/${account}/${queue}`;
    channel = new Channel({ sqs, dynamodb, tableName, name, queueUrl, schema: shardMessage, visibilityTimeoutSeconds });
    channels.set(name, channel);
  }
  return { name, channel };
}

/** Records a key's arrival on shard `name` (a hop whether it is recorded or fails: a failed one links to this invocation's logs). */
function arrival(name: string) {
  return ({ runId, key }: z.infer<typeof shardMessage>, envelope: Envelope<z.infer<typeof shardMessage>>) =>
    tracer.span(
      {
        traceId: envelope.traceId,
        parent: envelope.id,
        kind: 'function',
        name: `shard worker: ${name}`,
        detail: { key },
        ...invocationLogsField(),
      },
      async () => {
        await dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: exampleKeys.runKeyArrival(runId, key),
            UpdateExpression: 'ADD #shards :shard SET #key = :key',
            ExpressionAttributeNames: { '#shards': 'shards', '#key': 'key' },
            ExpressionAttributeValues: { ':shard': { SS: [name] }, ':key': { S: key } },
          }),
        );
      },
    );
}

/**
 * The batch's records accepted a shard at a time (`acceptRecords`: one hold and one ack per shard
 * for all its records, instead of two transactions per record on the shard's meta item): one
 * promise per record, rejected with the error the record failed with.
 */
function acceptBatch(records: SQSRecord[]): Map<SQSRecord, Promise<void>> {
  const byShard = new Map<string, SQSRecord[]>();
  const outcomes = new Map<SQSRecord, Promise<void>>();
  for (const record of records) {
    let name: string;
    try {
      name = channelFor(record).name;
    } catch (err) {
      outcomes.set(record, Promise.reject(err));
      continue;
    }
    byShard.set(name, [...(byShard.get(name) ?? []), record]);
  }
  for (const [name, shardRecords] of byShard) {
    const accepted = channelFor(shardRecords[0]!).channel.acceptRecords(shardRecords, arrival(name));
    shardRecords.forEach((record, index) =>
      outcomes.set(
        record,
        accepted.then((results) => {
          const result = results[index]!;
          if (!result.ok) throw result.error;
        }),
      ),
    );
  }
  for (const outcome of outcomes.values()) outcome.catch(() => undefined); // awaited per record below
  return outcomes;
}

/** A failed record back after its channel's retry delay (one of no shard queue: after the visibility timeout). */
async function retryLater(record: SQSRecord, err: unknown): Promise<number | undefined> {
  try {
    return await channelFor(record).channel.retryRecord(record, err);
  } catch {
    return undefined;
  }
}

async function shard(event: SQSEvent, context: Context) {
  const accepted = acceptBatch(event.Records);
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      try {
        await (accepted.get(record) ?? Promise.reject(new Error('record not in the batch accepted')));
      } catch (err) {
        // Back soon (the channel's retry policy), not after the whole visibility timeout.
        const retryInSeconds = await retryLater(record, err);
        logger.warn('record failed, will be redelivered', { messageId: record.messageId, retryInSeconds, error: err as Error });
        throw err;
      }
    },
    processor,
    { context },
  );
}

export const handler = withMesh(shard, { sqs: true });
