/** Constructors validate their options once, with MeshConfigError, before any call is made. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../lib/errors.ts';
import { Group } from '../../lib/spawn/Group.ts';
import { taskCompletion } from '../../lib/middlewares/taskCompletion.ts';
import { Mutex } from '../../lib/sync/Mutex.ts';
import { Once } from '../../lib/sync/Once.ts';
import { Semaphore } from '../../lib/sync/Semaphore.ts';
import { WaitGroup } from '../../lib/sync/WaitGroup.ts';

// Never used to send anything: construction only.
const client = new DynamoDBClient({ region: 'us-east-1' });
const lambda = new LambdaClient({ region: 'us-east-1' });

describe('option validation', () => {
  it.each([
    ['Mutex without a client', () => new Mutex({ tableName: 't', name: 'a' } as never)],
    ['Mutex without a table', () => new Mutex({ client, tableName: '', name: 'a' })],
    ['Mutex with an empty name', () => new Mutex({ client, tableName: 't', name: '' })],
    ['Mutex with a heartbeat as long as the lease', () => new Mutex({ client, tableName: 't', name: 'a', leaseMs: 100, heartbeatMs: 100 })],
    ['Mutex with a negative skew bound', () => new Mutex({ client, tableName: 't', name: 'a', clockSkewMs: -1 })],
    ['Mutex with an unknown fairness', () => new Mutex({ client, tableName: 't', name: 'a', fairness: 'lifo' as never })],
    ['Mutex with a negative starvation time', () => new Mutex({ client, tableName: 't', name: 'a', starvationMs: -1 })],
    [
      'Semaphore with an unknown fairness',
      () => new Semaphore({ client, tableName: 't', name: 'a', capacity: 2, fairness: 'fair' as never }),
    ],
    ['Semaphore with a zero ticket lease', () => new Semaphore({ client, tableName: 't', name: 'a', capacity: 2, ticketLeaseMs: 0 })],
    ['WaitGroup with a control character in its name', () => new WaitGroup({ client, tableName: 't', name: 'a\nb' })],
    ['Group without a Lambda client', () => new Group({ dynamodb: client, tableName: 't' } as never)],
    ['Group with a limit of 0', () => new Group({ dynamodb: client, lambda, tableName: 't', limit: 0 })],
    ['Group with a fractional limit', () => new Group({ dynamodb: client, lambda, tableName: 't', limit: 1.5 })],
    ['Group with a task timeout of 0', () => new Group({ dynamodb: client, lambda, tableName: 't', taskTimeoutMs: 0 })],
    ['WaitGroup with a negative task timeout', () => new WaitGroup({ client, tableName: 't', name: 'a', taskTimeoutMs: -1 })],
    ['Once with a zero lease', () => new Once({ client, tableName: 't', leaseMs: 0 })],
    ['taskCompletion without a client', () => taskCompletion({} as never)],
    ['taskCompletion without a table', () => taskCompletion({ client } as never)],
  ])('refuses %s', (_, construct) => {
    expect(construct).toThrow(MeshConfigError);
  });

  it.each([[0], [1.5], [Number.NaN], [2 ** 60]])('WaitGroup.add refuses %s before any call', async (delta) => {
    const wg = new WaitGroup({ client, tableName: 't', name: 'a' });

    await expect(wg.add(delta)).rejects.toBeInstanceOf(MeshConfigError);
  });

  it('accepts a complete configuration without touching the network', () => {
    expect(new Mutex({ client, tableName: 't', name: 'a', leaseMs: 3000, heartbeatMs: 1000, clockSkewMs: 0 }).name).toBe('a');
    expect(new Group({ dynamodb: client, lambda, tableName: 't', id: 'g', limit: 3 }).id).toBe('g');
  });
});
