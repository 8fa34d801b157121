/** A fresh mesh table per test file (same key schema as infra/resources/table.yml). */
import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamodb, uniqueSuffix } from './aws.ts';

export async function createMeshTable(prefix: string): Promise<string> {
  return createMeshTableNamed(`fnmesh-test-${prefix}-${uniqueSuffix()}`);
}

/** A mesh table of this name, through `client` (another LocalStack's, say). */
export async function createMeshTableNamed(tableName: string, client: DynamoDBClient = dynamodb): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  return tableName;
}

export async function deleteMeshTable(tableName: string): Promise<void> {
  await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
}
