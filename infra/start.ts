/**
 * `npm start`: LocalStack up, the stack deployed to stage `local`, and a run through it that
 * prints what happened. LocalStack is left running for `npx serverless invoke ...`;
 * `npm run local:down` stops it.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCALSTACK_ENDPOINT, projectRoot, up } from './localstack/localstack.ts';
import { serverlessInteractive } from './serverless/cli.ts';

const STAGE = 'local';
const names = {
  ping: `fnmesh-${STAGE}-ping`,
  queue: `fnmesh-${STAGE}-smoke`,
  table: `fnmesh-${STAGE}-mesh`,
};
const config = { endpoint: LOCALSTACK_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

async function main(): Promise<void> {
  // Node 20 is supported by the pinned SDK; its notice about 2027 releases is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log('1/4 LocalStack');
  const localstack = await up({ log: (line) => console.log(`    ${line}`) });
  console.log(
    localstack.started
      ? `    ready at ${localstack.endpoint} (pid ${localstack.pid}) in ${localstack.seconds.toFixed(1)} s`
      : `    already running at ${localstack.endpoint}`,
  );

  console.log(`2/4 serverless deploy --stage ${STAGE}`);
  const [, deployMs] = await timed(() => serverlessInteractive(['deploy', '--stage', STAGE]));

  const lambda = new LambdaClient(config);
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);

  console.log(`3/4 invoke ${names.ping} with events/ping.json`);
  const payload = readFileSync(join(projectRoot, 'events', 'ping.json'));
  const invokePing = () => lambda.send(new InvokeCommand({ FunctionName: names.ping, Payload: payload }));
  const [first, firstMs] = await timed(invokePing);
  const [, secondMs] = await timed(invokePing);
  if (first.FunctionError) throw new Error(`ping failed: ${Buffer.from(first.Payload!).toString()}`);
  console.log(`    ${Buffer.from(first.Payload!).toString()}`);
  console.log(`    first invoke ${firstMs.toFixed(0)} ms (may include a cold start), second ${secondMs.toFixed(0)} ms`);

  console.log(`4/4 send a message to ${names.queue}; the record function writes it to ${names.table}`);
  const id = `start-${Date.now().toString(36)}`;
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }));
  const sentAt = performance.now();
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ id, value: 'hello through SQS' }) }));
  for (let attempt = 0; attempt < 240; attempt++) {
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: names.table, Key: { pk: { S: `smoke#${id}` }, sk: { S: 'record' } }, ConsistentRead: true }),
    );
    if (Item) {
      console.log(`    item smoke#${id} = "${Item.value?.S}" after ${(performance.now() - sentAt).toFixed(0)} ms`);
      console.log(
        `\nDeployed stage ${STAGE} in ${(deployMs / 1000).toFixed(1)} s; everything ran on LocalStack at ${LOCALSTACK_ENDPOINT}.`,
      );
      console.log('Try: npx serverless invoke -f ping --stage local --path events/ping.json');
      console.log('Stop LocalStack with: npm run local:down');
      return;
    }
    await sleep(250);
  }
  throw new Error(`the message ${id} did not reach the table within 60 s (see npm run local:logs)`);
}

main().catch((err: Error) => {
  console.error(`\nnpm start failed: ${err.message}`);
  process.exit(1);
});
