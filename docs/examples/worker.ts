// A tracked worker: the middleware unwraps the task envelope and records the outcome once.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { taskCompletion } from 'fnmesh';

const client = new DynamoDBClient({});

async function square(task: { n: number }): Promise<number> {
  return task.n * task.n;
}

export const handler = middy(square).use(taskCompletion({ client, tableName: 'fnmesh-dev-mesh' }));
