/** The ping function's event and result, and the event's validation. */
import { InvalidInputError } from 'fnmesh';

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
