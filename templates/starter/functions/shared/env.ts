/**
 * What every function of this service shares: the DynamoDB client (built once per execution
 * environment, at module scope, with no I/O: the SDK connects on first use) and the mesh table's
 * name, which serverless.yml gives each function in its environment. Each function bundles only the
 * clients it imports: the SQS client is in jobs.ts, for the functions on the channel.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MeshConfigError } from 'fnmesh';

/** A required environment variable (set by serverless.yml); a clear error when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new MeshConfigError(`environment variable ${name} is not set (see serverless.yml)`);
  return value;
}

export const dynamodb = new DynamoDBClient({});
/** The mesh table: fnmesh's locks and channel ledger, and this service's own items. */
export const tableName = requireEnv('MESH_TABLE');
