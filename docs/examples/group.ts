// errgroup over Lambda: at most 4 workers at a time, and the first failure reported.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Group, GroupTaskError } from 'fnmesh';

const dynamodb = new DynamoDBClient({});
const lambda = new LambdaClient({});

export async function squareAll(numbers: number[]): Promise<void> {
  const group = new Group({ dynamodb, lambda, tableName: 'fnmesh-dev-mesh', limit: 4 });
  for (const n of numbers) await group.go('fnmesh-dev-worker', { n });
  try {
    const { succeeded } = await group.wait();
    console.log(`${succeeded} tasks succeeded`);
  } catch (err) {
    if (err instanceof GroupTaskError) console.error(`task ${err.failure.taskId} failed: ${err.failure.errorType}`);
    throw err;
  }
}
