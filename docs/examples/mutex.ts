// A Lambda handler that updates an invoice under a distributed lock, its write fenced.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { fencedUpdate, Mutex } from 'fnmesh';

const client = new DynamoDBClient({});

export async function handler(event: { invoiceId: string }, context: Context): Promise<number> {
  const mutex = new Mutex({
    client,
    tableName: 'fnmesh-dev-mesh',
    name: `invoice-${event.invoiceId}`,
    owner: context.awsRequestId,
    // The lease never outlives this invocation.
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  // Go: mu.Lock(); defer mu.Unlock()
  await using held = await mutex.lock({ signal: AbortSignal.timeout(5_000) });
  // Refused (StaleFenceError) if a newer holder already wrote this item.
  await fencedUpdate(
    client,
    {
      TableName: 'invoices',
      Key: { id: { S: event.invoiceId } },
      UpdateExpression: 'ADD #revision :one',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':one': { N: '1' } },
    },
    held.fence,
    { signal: held.signal },
  );
  return held.fence;
}
