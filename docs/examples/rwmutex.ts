// Many invocations read a price list at once; a repricing one replaces it alone, its write fenced.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { fencedPut, RWMutex } from 'fnmesh';

const client = new DynamoDBClient({});

function priceListLock(context: Context): RWMutex {
  return new RWMutex({
    client,
    tableName: 'fnmesh-dev-mesh',
    name: 'price-list',
    owner: context.awsRequestId,
    // No lease outlives this invocation.
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
}

export async function quote(event: { sku: string }, context: Context): Promise<string | undefined> {
  // Go: rw.RLock(); defer rw.RUnlock()
  await using read = await priceListLock(context).rLock({ signal: AbortSignal.timeout(5_000) });
  const { Item } = await client.send(
    new GetItemCommand({ TableName: 'prices', Key: { sku: { S: event.sku } }, ConsistentRead: true }),
    { abortSignal: read.signal },
  );
  return Item?.price?.N;
}

export async function reprice(event: { sku: string; price: number }, context: Context): Promise<number> {
  // Go: rw.Lock(); defer rw.Unlock() — new readers wait from the moment this call starts waiting.
  await using held = await priceListLock(context).lock({ signal: AbortSignal.timeout(10_000) });
  // Refused (StaleFenceError) if a newer writer already wrote this item.
  await fencedPut(
    client,
    { TableName: 'prices', Item: { sku: { S: event.sku }, price: { N: String(event.price) } } },
    held.fence,
    { signal: held.signal },
  );
  return held.fence;
}
