/**
 * The SDK clients and resources every function shares: built once per execution environment, at
 * module scope, with no I/O (the SDK connects on first use). Names come from serverless.yml.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Tracer } from 'fnmesh';
import { requireEnv } from './env.ts';

export const dynamodb = new DynamoDBClient({});
export const sqs = new SQSClient({});
export const lambda = new LambdaClient({});
export const tableName = requireEnv('MESH_TABLE');
export const tracer = new Tracer({ client: dynamodb, tableName });
