/**
 * channel: the seed's `go func() { ch <- 10 }()`. Sends `value` (default 10) on the ping channel.
 */
import { Channel, check, describeIssues, InvalidInputError } from 'fnmesh';
import { z } from 'zod';
import { CHANNELS } from '../../infra/stack.ts';
import { dynamodb, sqs, tableName, tracer } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { currentTrace, withMesh } from '../shared/withMesh.ts';

export const pingSchema = z.number().int();
const ping = new Channel({ sqs, dynamodb, tableName, name: CHANNELS.ping, queueUrl: requireEnv('PING_QUEUE_URL'), schema: pingSchema });
const eventSchema = z.object({ value: z.number().int().default(10) }).passthrough();

async function send(event: unknown) {
  const parsed = await check(eventSchema, event ?? {});
  if (!parsed.ok) throw new InvalidInputError('event', describeIssues(parsed.issues));
  const trace = currentTrace();
  const envelope = await ping.send(parsed.value.value, trace ? { trace } : {});
  return { sent: parsed.value.value, messageId: envelope.id, traceId: envelope.traceId };
}

export const handler = withMesh(send, { tracer });
