/** A fresh mesh table per test file (same key schema as infra/resources/table.yml). */
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb, uniqueSuffix } from './aws.ts';

export async function createMeshTable(prefix: string): Promise<string> {
  const tableName = `fnmesh-test-${prefix}-${uniqueSuffix()}`;
  await dynamodb.send(
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
