import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { countedIdOf, decodeEnvelope, type Envelope, encodeEnvelope, envelopeOf } from '../../lib/channel/envelope.ts';
import { decodeBody } from '../../lib/channel/queue.ts';
import { MalformedEnvelopeError } from '../../lib/errors.ts';

interface Vectors {
  valid: { name: string; message: string; envelope: Envelope }[];
  invalid: { name: string; message: string; path: string }[];
}

const vectors = JSON.parse(readFileSync(join(projectRoot, 'docs', 'wire-format', 'envelope-vectors.json'), 'utf8')) as Vectors;

describe('envelope wire format v1', () => {
  it.each(vectors.valid.map((vector) => [vector.name, vector] as const))('decodes the test vector: %s', (_, vector) => {
    expect(decodeEnvelope(vector.message)).toEqual(vector.envelope);
  });

  it.each(vectors.invalid.map((vector) => [vector.name, vector] as const))('refuses the test vector: %s', (_, vector) => {
    expect(() => decodeEnvelope(vector.message)).toThrow(expect.objectContaining({ name: 'MalformedEnvelopeError', path: vector.path }));
  });

  it('encodes the first valid vector byte for byte', () => {
    expect(encodeEnvelope(vectors.valid[0]!.envelope)).toBe(vectors.valid[0]!.message);
  });

  it('round-trips any JSON body and trace', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.uuid(), { nil: undefined }), (body, parent) => {
        const envelope = envelopeOf(body, parent ? { traceId: 'trace', parent } : undefined);
        const decoded = decodeEnvelope(encodeEnvelope(envelope));
        expect(decoded).toEqual(JSON.parse(JSON.stringify(envelope)));
      }),
    );
  });

  it('never fails on arbitrary input with anything but MalformedEnvelopeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
        ),
        (text) => {
          try {
            decodeEnvelope(text);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedEnvelopeError);
          }
        },
      ),
    );
  });

  it('refuses mutated valid envelopes field by field, and only with MalformedEnvelopeError', () => {
    const base = JSON.parse(vectors.valid[1]!.message);
    fc.assert(
      fc.property(
        fc.constantFrom('fnmesh', 'v', 'id', 'traceId', 'parent', 'sentAt'),
        fc.oneof(fc.integer({ max: -1 }), fc.constant(''), fc.constant([]), fc.constant({}), fc.constant(true)),
        (field, value) => {
          const mutated = { ...base, [field]: value };
          expect(() => decodeEnvelope(JSON.stringify(mutated))).toThrow(MalformedEnvelopeError);
        },
      ),
    );
  });

  it('finds the id of a counted message that breaks another rule, and nothing in what was never an envelope', () => {
    const broken = JSON.stringify({ fnmesh: 'envelope', v: 1, id: 'value-7', traceId: 'x'.repeat(200), sentAt: 0, body: 1 });
    expect(() => decodeEnvelope(broken)).toThrow(MalformedEnvelopeError);
    expect(countedIdOf(broken)).toBe('value-7');
    expect(countedIdOf(JSON.stringify({ fnmesh: 'envelope', v: 1, id: '😀'.repeat(33) }))).toBeUndefined();
    expect(countedIdOf(JSON.stringify({ v: 1, id: 'value-7' }))).toBeUndefined();
    expect(countedIdOf('not json')).toBeUndefined();
    expect(countedIdOf('null')).toBeUndefined();
  });
});

describe('decodeBody (what a receiver makes of a message body)', () => {
  const schema = z.object({ n: z.number() });

  it('gives the envelope with its value checked by the schema', async () => {
    const envelope = envelopeOf({ n: 1 });

    expect(await decodeBody(encodeEnvelope(envelope), schema)).toEqual({ ok: true, envelope });
  });

  it('says a body failing the schema is malformed, and names the id its sender counted it in by', async () => {
    const envelope = envelopeOf({ n: 'one' });

    const decoded = await decodeBody(encodeEnvelope(envelope), schema);

    expect(decoded).toMatchObject({ ok: false, countedId: envelope.id });
    expect(!decoded.ok && decoded.error).toBeInstanceOf(MalformedEnvelopeError);
    expect(!decoded.ok && (decoded.error as MalformedEnvelopeError).message).toMatch(/body/);
  });

  it('names the counted id of an envelope that breaks a rule, and none for a body that is no envelope', async () => {
    const broken = JSON.stringify({ fnmesh: 'envelope', v: 1, id: 'value-7', traceId: '', parent: null, sentAt: 0, body: 1 });

    expect(await decodeBody(broken, undefined)).toMatchObject({ ok: false, countedId: 'value-7' });
    expect(await decodeBody('not json', undefined)).toMatchObject({ ok: false, countedId: undefined });
  });
});
