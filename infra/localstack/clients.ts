/**
 * SDK client settings for the project's LocalStack, in one place: the loopback endpoint
 * (`LOCALSTACK_ENDPOINT`, which honours `FNMESH_LOCALSTACK_PORT`), us-east-1 and dummy
 * credentials. The CLI's stage `local`, the benchmarks, the chaos runs and the tests all build
 * their clients from it. Nothing here creates a client at import time.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { CallCounter } from '../../lib/faults/callCounter.ts';
import { LOCALSTACK_ENDPOINT } from './localstack.ts';

export interface LocalClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Settings for a LocalStack at `endpoint` (the project's by default), in `region` (us-east-1 by default). */
export function localClientConfig({ endpoint = LOCALSTACK_ENDPOINT, region = 'us-east-1' } = {}): LocalClientConfig {
  return { endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

/** Settings for the project's LocalStack. */
export const localConfig: LocalClientConfig = localClientConfig();

/** DynamoDB, SQS and Lambda clients for LocalStack (or `config`'s endpoint) whose calls `counter` counts. */
export function countedClients(counter: CallCounter, config: LocalClientConfig = localConfig) {
  return {
    dynamodb: counter.attach(new DynamoDBClient(config), 'DynamoDB'),
    sqs: counter.attach(new SQSClient(config), 'SQS'),
    lambda: counter.attach(new LambdaClient(config), 'Lambda'),
  };
}
