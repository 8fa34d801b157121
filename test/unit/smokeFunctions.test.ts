import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePingEvent } from '../../functions/ping/event.ts';
import { parseRecordMessage } from '../../functions/record/message.ts';
import { InvalidInputError } from '../../lib/errors.ts';

describe('parsePingEvent', () => {
  it('accepts an empty event and a string message', () => {
    expect(parsePingEvent({})).toEqual({});
    expect(parsePingEvent({ message: 'hi' })).toEqual({ message: 'hi' });
  });

  it.each([[null], [[]], ['text'], [{ message: 42 }]])('refuses %j with InvalidInputError', (event) => {
    expect(() => parsePingEvent(event)).toThrow(InvalidInputError);
  });

  it('never throws anything but InvalidInputError, whatever JSON it gets', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (event) => {
        try {
          parsePingEvent(event);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidInputError);
        }
      }),
    );
  });
});

describe('parseRecordMessage', () => {
  it('parses a well-formed message', () => {
    expect(parseRecordMessage('{"id":"a","value":"b"}')).toEqual({ id: 'a', value: 'b' });
    expect(parseRecordMessage('{"id":"a","value":"b","fail":true}')).toEqual({ id: 'a', value: 'b', fail: true });
  });

  it.each([
    ['{not json', 'body'],
    ['null', 'body'],
    ['{"value":"b"}', 'body.id'],
    ['{"id":"","value":"b"}', 'body.id'],
    ['{"id":"a","value":1}', 'body.value'],
    ['{"id":"a","value":"b","fail":"yes"}', 'body.fail'],
  ])('refuses %s at %s', (body, path) => {
    expect(() => parseRecordMessage(body)).toThrow(expect.objectContaining({ name: 'InvalidInputError', path }));
  });

  it('never throws anything but InvalidInputError, whatever string it gets', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
        ),
        (body) => {
          try {
            parseRecordMessage(body);
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidInputError);
          }
        },
      ),
    );
  });
});
