/** The messages the record function consumes, and their validation. */
import { InvalidInputError } from 'fnmesh';

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
