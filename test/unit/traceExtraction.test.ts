import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { traceOf } from '../../functions/shared/withMesh.ts';
import { traceContextOf } from '../../lib/channel/envelope.ts';
import { traceOfRequest } from '../../lib/rpc/protocol.ts';
import { traceOfTask } from '../../lib/spawn/go.ts';

const task = { kind: 'group', tableName: 't', name: 'g', taskId: '1', functionName: 'f' };

describe('traceContextOf', () => {
  it('keeps a non-empty traceId, and parent only when it is a string', () => {
    expect(traceContextOf({ traceId: 'abc', parent: 'hop' })).toEqual({ traceId: 'abc', parent: 'hop' });
    expect(traceContextOf({ traceId: 'abc', parent: 7 })).toEqual({ traceId: 'abc', parent: null });
    expect(traceContextOf({ traceId: 'abc' })).toEqual({ traceId: 'abc', parent: null });
  });

  it.each([[undefined], [null], ['abc'], [{}], [{ traceId: '' }], [{ traceId: 42 }]])('finds no trace in %j', (value) => {
    expect(traceContextOf(value)).toBeUndefined();
  });
});

describe('traceOfRequest', () => {
  it("reads an RPC request's traceId as a root (no parent)", () => {
    expect(traceOfRequest({ fnmesh: 'rpc', v: 1, method: 'A.B', args: null, traceId: 't1' })).toEqual({ traceId: 't1', parent: null });
  });

  it('finds none in a request without one, or in what is not a request', () => {
    expect(traceOfRequest({ fnmesh: 'rpc', v: 1, method: 'A.B', args: null })).toBeUndefined();
    expect(traceOfRequest({ traceId: 't1' })).toBeUndefined();
    expect(traceOfRequest([{ fnmesh: 'rpc', traceId: 't1' }])).toBeUndefined();
  });
});

describe('traceOfTask', () => {
  it("reads a task envelope's trace", () => {
    const envelope = { fnmesh: { v: 1, task, trace: { traceId: 't2', parent: 'driver' } }, payload: {} };
    expect(traceOfTask(envelope)).toEqual({ traceId: 't2', parent: 'driver' });
  });

  it('finds none in an envelope without one, or in an RPC request', () => {
    expect(traceOfTask({ fnmesh: { v: 1, task }, payload: {} })).toBeUndefined();
    expect(traceOfTask({ fnmesh: 'rpc', traceId: 't1' })).toBeUndefined();
  });
});

describe('traceOf (withMesh)', () => {
  it("takes the event's own trace first, then a task envelope's, then an RPC request's", () => {
    expect(traceOf({ trace: { traceId: 'own', parent: 'p' }, fnmesh: { task, trace: { traceId: 'task' } } })).toEqual({
      traceId: 'own',
      parent: 'p',
    });
    expect(traceOf({ fnmesh: { v: 1, task, trace: { traceId: 'task' } }, payload: {} })).toEqual({ traceId: 'task', parent: null });
    expect(traceOf({ fnmesh: 'rpc', v: 1, method: 'A.B', args: null, traceId: 'rpc' })).toEqual({ traceId: 'rpc', parent: null });
  });

  it('does not fall back when the event has a trace field that is not a trace', () => {
    expect(traceOf({ trace: { traceId: '' }, fnmesh: { task, trace: { traceId: 'task' } } })).toBeUndefined();
  });

  it('never throws, whatever JSON it gets', () => {
    fc.assert(fc.property(fc.jsonValue(), (event) => void traceOf(event)));
  });
});
