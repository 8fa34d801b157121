/**
 * How the local cloud's SQS event source mappings poll (plugin/fnmesh_localstack/sqs_pollers.py):
 * as AWS's, each poller waits for its queue to have a message instead of short-polling it, so a
 * message is taken as soon as it arrives; and a mapping that stops or goes away takes nothing
 * sent after it did, even though its pollers were waiting on the queue when it stopped.
 */
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  DeleteFunctionCommand,
  GetEventSourceMappingCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue, lambda, sqs, type TestQueue, uniqueSuffix } from '../../infra/localstack/resources.ts';
import { eventually } from '../helpers/eventually.ts';
import { createInlineFunction } from '../helpers/inlineFunction.ts';

const functionName = `fnmesh-test-polling-${uniqueSuffix()}`;
const zip = zipSync({ 'index.js': strToU8('exports.handler = async () => ({ batchItemFailures: [] });\n') });

async function queueArn(queue: TestQueue): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

/** A mapping from `queue` to the function, once it polls. @returns its UUID */
async function mapQueue(queue: TestQueue): Promise<string> {
  const { UUID } = await lambda.send(
    new CreateEventSourceMappingCommand({ EventSourceArn: await queueArn(queue), FunctionName: functionName, BatchSize: 10 }),
  );
  await mappingIn(UUID!, 'Enabled');
  return UUID!;
}

async function mappingIn(uuid: string, state: string): Promise<void> {
  await eventually(
    async () => ((await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State === state ? true : undefined),
    `event source mapping ${uuid} ${state}`,
  );
}

/** Until every message of `queue` was taken and deleted (by the function, through the mapping). */
async function emptied(queue: TestQueue, what: string): Promise<void> {
  await eventually(
    async () => {
      const { visible, inFlight } = await queue.depth();
      return visible + inFlight === 0 ? true : undefined;
    },
    what,
    30_000,
  );
}

const send = (queue: TestQueue, body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than the pollers' stop check (0.5 s) and their idle waits (1 s) together, twice over. */
const SETTLE_MS = 3_000;

beforeAll(async () => {
  await createInlineFunction(lambda, { name: functionName, code: zip, timeout: 3 });
});

afterAll(async () => {
  await lambda.send(new DeleteFunctionCommand({ FunctionName: functionName })).catch(() => undefined);
});

describe('an SQS event source mapping', () => {
  it('takes a message sent to its idle queue, and every message of a burst', async () => {
    const queue = await createQueue('polling-idle');
    const mapping = await mapQueue(queue);
    try {
      await pause(SETTLE_MS); // idle: the pollers are waiting on the queue, none is between polls
      await send(queue, 'after a quiet spell');
      await emptied(queue, 'the message taken and deleted');
      await Promise.all(Array.from({ length: 25 }, (_, i) => send(queue, `burst ${i}`)));
      await emptied(queue, 'the burst taken and deleted');
    } finally {
      await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping })).catch(() => undefined);
      await queue.remove();
    }
  });

  it('once disabled, takes nothing sent after, though its pollers were waiting on the queue; enabled again, takes it', async () => {
    const queue = await createQueue('polling-disabled');
    const mapping = await mapQueue(queue);
    try {
      await pause(SETTLE_MS);
      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping, Enabled: false }));
      await mappingIn(mapping, 'Disabled');
      await pause(SETTLE_MS); // every poller has seen the stop by now
      await send(queue, 'while disabled');
      await pause(SETTLE_MS);
      expect(await queue.depth()).toEqual({ visible: 1, inFlight: 0 });

      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping, Enabled: true }));
      await mappingIn(mapping, 'Enabled');
      await emptied(queue, 'the message taken once enabled again');
    } finally {
      await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping })).catch(() => undefined);
      await queue.remove();
    }
  });

  it('once deleted, takes nothing sent after', async () => {
    const queue = await createQueue('polling-deleted');
    const mapping = await mapQueue(queue);
    try {
      await pause(SETTLE_MS);
      await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping }));
      await eventually(
        async () =>
          lambda.send(new GetEventSourceMappingCommand({ UUID: mapping })).then(
            () => undefined,
            (err: Error) => (err.name === 'ResourceNotFoundException' ? true : undefined),
          ),
        'the mapping gone',
      );
      await pause(SETTLE_MS);
      await send(queue, 'after the mapping');
      await pause(SETTLE_MS);
      expect(await queue.depth()).toEqual({ visible: 1, inFlight: 0 });
    } finally {
      await queue.remove();
    }
  });
});
