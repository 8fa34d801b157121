/**
 * The message envelope, wire format version 1 (docs/wire-format.md): what every fnmesh channel
 * message body is, so a program in any language can send to and receive from a channel.
 *
 *   {"fnmesh":"envelope","v":1,"id":"…","traceId":"…","parent":"…"|null,"sentAt":1764115200000,"body":…}
 */
import { randomUUID } from 'node:crypto';
import { MalformedEnvelopeError } from '../errors.ts';

export const ENVELOPE_VERSION = 1;
/** Identifiers are at most this many bytes in UTF-8 (a DynamoDB key part, e.g. `msg#<id>`, is bytes too). */
const MAX_ID_BYTES = 128;

export interface Envelope<T = unknown> {
  /** Unique per message; receivers deduplicate on it. */
  id: string;
  /** The run this message belongs to, carried across hops. */
  traceId: string;
  /** The id of the message or hop that caused this one, if any. */
  parent: string | null;
  /** Epoch milliseconds, by the sender's clock. */
  sentAt: number;
  body: T;
}

/** Where a message sits in a trace: pass a received envelope's to make the next hop its child. */
export interface TraceContext {
  traceId: string;
  parent?: string | null;
}

/**
 * A trace context read from untrusted JSON (an event's `trace` field, a task envelope's): a
 * non-empty string `traceId`, with `parent` kept if it is a string (null otherwise); undefined if
 * `value` is not one. The RPC and task protocols extract theirs with it (rpc/protocol.ts,
 * spawn/go.ts).
 */
export function traceContextOf(value: unknown): TraceContext | undefined {
  const fields = value as { traceId?: unknown; parent?: unknown } | null | undefined;
  if (typeof fields?.traceId !== 'string' || !fields.traceId) return undefined;
  return { traceId: fields.traceId, parent: typeof fields.parent === 'string' ? fields.parent : null };
}

/** A fresh trace id: 32 lowercase hex characters. */
export function newTraceId(): string {
  return randomUUID().replaceAll('-', '');
}

/** A new envelope around `body`, continuing `trace` if given. */
export function envelopeOf<T>(body: T, trace?: TraceContext, now = Date.now()): Envelope<T> {
  return { id: randomUUID(), traceId: trace?.traceId ?? newTraceId(), parent: trace?.parent ?? null, sentAt: now, body };
}

/** The JSON text of an envelope, fields in the documented order. */
export function encodeEnvelope(envelope: Envelope): string {
  const { id, traceId, parent, sentAt, body } = envelope;
  const text = JSON.stringify({ fnmesh: 'envelope', v: ENVELOPE_VERSION, id, traceId, parent, sentAt, body });
  if (text === undefined) throw new MalformedEnvelopeError('body', 'not serializable as JSON');
  return text;
}

function identifier(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new MalformedEnvelopeError(path, 'expected a non-empty string');
  if (!value.isWellFormed()) throw new MalformedEnvelopeError(path, 'not well-formed Unicode (a lone surrogate)');
  if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) throw new MalformedEnvelopeError(path, `longer than ${MAX_ID_BYTES} bytes in UTF-8`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new MalformedEnvelopeError(path, 'contains control characters');
  return value;
}

/**
 * The id of a message body that breaks a rule of the envelope but still carries a valid `id`
 * under `"fnmesh": "envelope"`: a channel participant sent it, so it was counted into the channel
 * and must be counted out when it is set aside. Undefined for anything else (never counted).
 */
export function countedIdOf(text: string): string | undefined {
  try {
    const fields = JSON.parse(text) as Record<string, unknown> | null;
    if (fields?.fnmesh !== 'envelope') return undefined;
    return identifier(fields.id, 'id');
  } catch {
    return undefined;
  }
}

/**
 * Parses and validates a message body as an envelope. Unknown extra fields are ignored (so later
 * minor additions stay readable); a newer major version is refused.
 * @throws MalformedEnvelopeError saying where and what is wrong
 */
export function decodeEnvelope(text: string): Envelope<unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MalformedEnvelopeError('(message)', 'not JSON', { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new MalformedEnvelopeError('(message)', 'expected a JSON object');
  const fields = raw as Record<string, unknown>;
  if (fields.fnmesh !== 'envelope') throw new MalformedEnvelopeError('fnmesh', 'expected "envelope"');
  if (!Number.isSafeInteger(fields.v) || (fields.v as number) < 1)
    throw new MalformedEnvelopeError('v', 'expected a positive integer version');
  if ((fields.v as number) > ENVELOPE_VERSION) {
    throw new MalformedEnvelopeError('v', `version ${fields.v as number} is newer than this fnmesh understands (${ENVELOPE_VERSION})`);
  }
  const id = identifier(fields.id, 'id');
  const traceId = identifier(fields.traceId, 'traceId');
  const parent = fields.parent === undefined || fields.parent === null ? null : identifier(fields.parent, 'parent');
  if (!Number.isSafeInteger(fields.sentAt) || (fields.sentAt as number) < 0)
    throw new MalformedEnvelopeError('sentAt', 'expected epoch milliseconds');
  if (!('body' in fields)) throw new MalformedEnvelopeError('body', 'missing');
  return { id, traceId, parent, sentAt: fields.sentAt as number, body: fields.body };
}
