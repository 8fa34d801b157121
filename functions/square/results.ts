/** Where the squares and pool scenarios keep results and injected-failure markers (mesh table). */
import { ConditionalCheckFailedException, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

export function resultKey(runId: string, task: number) {
  return { pk: { S: `run#${runId}` }, sk: { S: `result#${String(task).padStart(8, '0')}` } };
}

/** True the first time it is asked for (runId, task): one conditional put, so exactly once. */
export async function firstAttempt(client: DynamoDBClient, tableName: string, runId: string, task: number): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: `run#${runId}` },
          sk: { S: `attempt#${String(task).padStart(8, '0')}` },
          expiresAt: { N: String(Math.ceil(Date.now() / 1000) + 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
