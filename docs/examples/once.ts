// Run a migration once across every worker that starts; all of them get its result.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Once } from 'fnmesh';

const client = new DynamoDBClient({});
const once = new Once({ client, tableName: 'fnmesh-dev-mesh' });

export async function ensureSchema(): Promise<{ version: number }> {
  return once.do('schema-v7', async ({ signal }) => {
    await migrate(signal);
    return { version: 7 };
  });
}

async function migrate(signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
}
