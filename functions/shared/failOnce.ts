/**
 * `failOnce`: the squares and pool demos make a task's first attempt fail on purpose, to show that
 * a failed and retried task still yields exactly one result. The square and worker functions share
 * the marker that tells a first attempt from a retry, and the error the attempt fails with.
 */
import { ConditionalCheckFailedException, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { MeshError } from 'fnmesh';
import { exampleKeys } from '../../lib/table/layout.ts';

/** A failure injected on purpose, to be retried. */
export class InjectedFailureError extends MeshError {
  override name = 'InjectedFailureError';
}

/** True the first time it is asked for (runId, task): one conditional put, so exactly once. */
export async function firstAttempt(client: DynamoDBClient, tableName: string, runId: string, task: number): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...exampleKeys.runAttempt(runId, task),
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
