/**
 * The chaos runs' measure of delivery: each value's effect is a conditional write keyed by the
 * value, applied at most once however often its handler runs; at the end the effect items are
 * counted (lost = values without one).
 */
import { ConditionalCheckFailedException, type DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../infra/localstack/resources.ts';

/** The value's effect, applied once: a retry or a redelivery finds it applied and leaves it. */
export async function applyEffect(client: DynamoDBClient, tableName: string, runId: string, i: number): Promise<void> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `effect#${runId}` }, sk: { S: String(i).padStart(6, '0') } },
        UpdateExpression: 'ADD #applied :one',
        ConditionExpression: 'attribute_not_exists(#applied)',
        ExpressionAttributeNames: { '#applied': 'applied' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err; // applied before: done
  }
}

async function queryEffects(tableName: string, runId: string, each: (item: Record<string, { N?: string }>) => void): Promise<void> {
  let start: Record<string, never> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `effect#${runId}` } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) each(item as Record<string, { N?: string }>);
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
}

export async function countEffects(tableName: string, runId: string): Promise<number> {
  let count = 0;
  await queryEffects(tableName, runId, () => count++);
  return count;
}

export async function effectTotals(
  tableName: string,
  runId: string,
  each: (sk: string) => void = () => undefined,
): Promise<{ effects: number; doubleApplied: number }> {
  let effects = 0;
  let doubleApplied = 0;
  await queryEffects(tableName, runId, (item) => {
    effects++;
    each((item.sk as { S?: string } | undefined)?.S ?? '');
    if (Number(item.applied?.N ?? 0) > 1) doubleApplied++;
  });
  return { effects, doubleApplied };
}
