import { describe, expect, it } from 'vitest';
import { channelQueueNames, resourceName, shardChannelName, shardName, STACK_CHANNELS } from '../../infra/stack.ts';
import { channelRecord } from '../../lib/table/reader.ts';
import { exampleKeys, itemKindOf, keys, nameOfItem } from '../../lib/table/layout.ts';

describe('infra/stack.ts', () => {
  it('names a stage resource fnmesh-<stage>-<thing>, as serverless.yml does', () => {
    expect(resourceName('local', 'mesh')).toBe('fnmesh-local-mesh');
    expect(resourceName('prod', 'shard-2')).toBe('fnmesh-prod-shard-2');
  });

  it('gives each channel its own dead-letter queue, but one shared by the shards', () => {
    expect(channelQueueNames('tasks')).toEqual({ queue: 'tasks', deadLetterQueue: 'tasks-dlq', sharedDeadLetterQueue: false });
    expect(channelQueueNames('shard-3')).toEqual({ queue: 'shard-3', deadLetterQueue: 'shards-dlq', sharedDeadLetterQueue: true });
    expect(STACK_CHANNELS).toEqual(['ping', 'tasks', 'results', 'smoke', 'shard-0', 'shard-1', 'shard-2', 'shard-3']);
  });

  it("reads a shard's channel name from its queue's ARN, and refuses another queue", () => {
    expect(shardName('arn:aws:sqs:us-east-1:000000000000:fnmesh-local-shard-2')).toBe(shardChannelName(2));
    expect(() => shardName('arn:aws:sqs:us-east-1:000000000000:fnmesh-local-tasks')).toThrow('not a shard queue');
  });
});

describe('layout: recognising items in a listing', () => {
  it("reads a kind's partition prefix and sort key off its key function", () => {
    expect(itemKindOf(keys.mutex)).toEqual({ partitionPrefix: 'mutex#', sortKey: 'lock' });
    expect(itemKindOf(keys.channel)).toEqual({ partitionPrefix: 'channel#', sortKey: 'meta' });
  });

  it('names only the main item of the kind: not another sort key, another kind, or a shard k ≥ 1', () => {
    const group = itemKindOf((id) => keys.group(id));
    expect(nameOfItem(keys.group('g#1'), group)).toBe('g#1');
    expect(nameOfItem(keys.group('g', 2), group)).toBeUndefined();
    expect(nameOfItem(keys.groupTask('g', 't'), group)).toBeUndefined();
    expect(nameOfItem(keys.rwMutex('m'), itemKindOf(keys.mutex))).toBeUndefined();
  });

  it("keys the example stack's items under the run's partition", () => {
    expect(exampleKeys.counter('c')).toEqual({ pk: { S: 'counter#c' }, sk: { S: 'counter' } });
    expect(exampleKeys.runResult('r', 7)).toEqual({ pk: { S: 'run#r' }, sk: { S: 'result#00000007' } });
    expect(exampleKeys.runAttempt('r', 7)).toEqual({ pk: { S: 'run#r' }, sk: { S: 'attempt#00000007' } });
    expect(exampleKeys.runKeyArrival('r', 'k')).toEqual({ pk: { S: 'run#r' }, sk: { S: 'key#k' } });
  });
});

describe('reader: channelRecord', () => {
  it('reads the counts of a meta item, and zeros for a channel without one', () => {
    const item = {
      ...keys.channel('c'),
      sent: { N: '5' },
      received: { N: '3' },
      abandoned: { N: '1' },
      queued: { N: '1' },
      closedAt: { N: '9' },
    };
    expect(channelRecord('c', item)).toEqual({ name: 'c', queued: 1, sent: 5, received: 3, abandoned: 1, closed: true });
    expect(channelRecord('c', undefined)).toEqual({ name: 'c', queued: 0, sent: 0, received: 0, abandoned: 0, closed: false });
  });
});
