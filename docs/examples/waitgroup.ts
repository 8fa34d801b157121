// Fan out three workers and wait for them; each worker's taskCompletion middleware calls done.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { WaitGroup } from 'fnmesh';

const dynamodb = new DynamoDBClient({});
const lambda = new LambdaClient({});

export async function fanOut(batchId: string): Promise<void> {
  const wg = new WaitGroup({ client: dynamodb, tableName: 'fnmesh-dev-mesh', name: `batch-${batchId}` });
  for (const part of [1, 2, 3]) {
    // Go 1.25: wg.Go(func() { work(part) })
    await wg.go(lambda, 'fnmesh-dev-worker', { batchId, part });
  }
  await wg.wait({ signal: AbortSignal.timeout(60_000) });
}
