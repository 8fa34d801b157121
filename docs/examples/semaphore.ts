// At most 10 units of concurrent work against a partner API, across every invocation; a bulk call weighs 5.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { Semaphore } from 'fnmesh';

const client = new DynamoDBClient({});

export async function handler(event: { orders: string[] }, context: Context): Promise<number> {
  const partnerApi = new Semaphore({
    client,
    tableName: 'fnmesh-dev-mesh',
    name: 'partner-api',
    capacity: 10, // every participant must pass the same capacity
    owner: context.awsRequestId,
    // The weight of an invocation that times out comes back when its time is up.
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  const weight = event.orders.length > 100 ? 5 : 1;
  // Go: if err := sem.Acquire(ctx, weight); err != nil { return err }; defer sem.Release(weight)
  await using held = await partnerApi.acquire(weight, { signal: AbortSignal.timeout(20_000) });
  const response = await fetch('https://partner.example.com/orders', {
    method: 'POST',
    body: JSON.stringify(event.orders),
    signal: held.signal,
  });
  return response.status;
}
