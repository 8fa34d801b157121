// A typed channel: the worker side ranges over tasks; the driver sends them and closes.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { Channel } from 'fnmesh';

const task = z.object({ n: z.number().int() });

const tasks = new Channel({
  sqs: new SQSClient({}),
  dynamodb: new DynamoDBClient({}),
  tableName: 'fnmesh-dev-mesh',
  name: 'tasks',
  queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/fnmesh-dev-tasks',
  schema: task,
  capacity: 100, // make(chan Task, 100): send waits while 100 are queued
});

export async function driver(): Promise<void> {
  await tasks.sendMany([1, 2, 3].map((n) => ({ n })));
  await tasks.close(); // close(tasks)
}

export async function worker(): Promise<number> {
  let sum = 0;
  for await (const { n } of tasks) sum += n * n; // for t := range tasks
  return sum;
}
