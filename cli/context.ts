/**
 * What every CLI command needs: the stage's SDK clients and resource names. Stage `local` talks
 * to the project's LocalStack (infra/localstack/clients.ts: 127.0.0.1:4566 or
 * `FNMESH_LOCALSTACK_PORT`, dummy credentials); any other stage to AWS with the usual
 * credential chain. Names follow serverless.yml (`fnmesh-<stage>-<thing>`, infra/stack.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '../infra/localstack/clients.ts';
import { MESH_TABLE, resourceName } from '../infra/stack.ts';
import { Tracer } from '../lib/trace/Tracer.ts';

export interface MeshContext {
  stage: string;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  tracer: Tracer;
  tableName: string;
  functionName(name: string): string;
  queueName(name: string): string;
  /**
   * A queue's URL, asked once and remembered (a failed or aborted ask is forgotten, so the next
   * caller asks again). `signal` aborts the ask this call starts, if it starts one.
   */
  queueUrl(name: string, signal?: AbortSignal): Promise<string>;
}

export function meshContext(stage: string, region = process.env.AWS_REGION ?? 'us-east-1'): MeshContext {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = stage === 'local' ? localClientConfig({ region }) : { region };
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const lambda = new LambdaClient({ ...config, maxAttempts: 2 });
  const tableName = resourceName(stage, MESH_TABLE);
  const urls = new Map<string, Promise<string>>();
  return {
    stage,
    dynamodb,
    sqs,
    lambda,
    tracer: new Tracer({ client: dynamodb, tableName }),
    tableName,
    functionName: (name) => resourceName(stage, name),
    queueName: (name) => resourceName(stage, name),
    queueUrl(name, signal) {
      if (!urls.has(name)) {
        const url = sqs
          .send(new GetQueueUrlCommand({ QueueName: resourceName(stage, name) }), signal ? { abortSignal: signal } : {})
          .then(({ QueueUrl }) => QueueUrl!);
        url.catch(() => urls.delete(name));
        urls.set(name, url);
      }
      return urls.get(name)!;
    },
  };
}
