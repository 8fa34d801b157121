/**
 * ping: the smoke stack's directly invoked function. Answers with what the runtime told it,
 * so a caller can see the Lambda context the executor built.
 */
import type { Context } from 'aws-lambda';
import { parsePingEvent, type PingResult } from './event.ts';
import { logger, withMesh } from '../shared/withMesh.ts';

async function ping(event: unknown, context: Context): Promise<PingResult> {
  const { message = 'ping' } = parsePingEvent(event);
  logger.info('ping', { message });
  return {
    pong: true,
    message,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    remainingTimeMs: context.getRemainingTimeInMillis(),
    node: process.version,
  };
}

export const handler = withMesh(ping);
