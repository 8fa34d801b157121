/**
 * ping: the smoke stack's directly invoked function. Answers with what the runtime told it,
 * so a caller can see the Lambda context the executor built.
 */
import type { Context } from 'aws-lambda';
import { InvalidInputError } from '../../lib/errors.ts';
import { logger, withMesh } from '../shared/withMesh.ts';

export interface PingEvent {
  message?: string;
}

export interface PingResult {
  pong: true;
  message: string;
  requestId: string;
  functionName: string;
  remainingTimeMs: number;
  node: string;
}

export function parsePingEvent(event: unknown): PingEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidInputError('event', 'expected an object like {"message": "hello"}');
  }
  const { message } = event as Record<string, unknown>;
  if (message !== undefined && typeof message !== 'string') {
    throw new InvalidInputError('event.message', `expected a string, got ${typeof message}`);
  }
  return message === undefined ? {} : { message };
}

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
