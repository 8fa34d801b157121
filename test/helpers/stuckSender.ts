/**
 * A channel sender in its own process, to be SIGKILLed between counting a value in and sending
 * it: `node --import tsx test/helpers/stuckSender.ts <json>`. Its SQS client never answers, so
 * the send hangs after the count-in; it prints `counted` once the count-in is done.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Channel } from '../../lib/channel/Channel.ts';
import { localConfig } from '../../infra/localstack/clients.ts';

interface Args {
  tableName: string;
  name: string;
  queueUrl: string;
  sendLeaseMs: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const sqs = new SQSClient(localConfig);
// Every SQS request hangs: the process is stuck between count-in and send, as if cut off.
sqs.middlewareStack.add(
  () => async () => {
    console.log('counted');
    return new Promise<never>(() => {});
  },
  { step: 'finalizeRequest', priority: 'low', name: 'hang' },
);
setInterval(() => {}, 1000); // alive until killed
const channel = new Channel<number>({ sqs, dynamodb: new DynamoDBClient(localConfig), ...args });
await channel.send(7);
