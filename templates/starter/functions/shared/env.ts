/**
 * What every function of this service shares: the AWS SDK clients (built once per execution
 * environment, at module scope, with no I/O: the SDK connects on first use) and the resource names
 * serverless.yml gives each function in its environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MeshConfigError } from 'fnmesh';

/** A required environment variable (set by serverless.yml); a clear error when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new MeshConfigError(`environment variable ${name} is not set (see serverless.yml)`);
  return value;
}

export const dynamodb = new DynamoDBClient({});
export const sqs = new SQSClient({});
/** The mesh table: fnmesh's locks and channel ledger, and this service's own items. */
export const tableName = requireEnv('MESH_TABLE');
