/**
 * A channel sender in its own process, for the send chaos run (chaos/sendChaos.ts) to SIGKILL at
 * a random moment: `node --import tsx chaos/senderProcess.ts <json>`. Sends values `from` … `to - 1`
 * one `send()` at a time and prints `{"sent":i}` after each one the channel confirmed, or
 * `{"failed":i,"code":…}` when the send reported it did not go.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Channel } from '../lib/channel/Channel.ts';
import { ChannelSendError } from '../lib/errors.ts';
import { localConfig } from '../infra/localstack/clients.ts';

export interface SenderProcessArgs {
  tableName: string;
  name: string;
  queueUrl: string;
  from: number;
  to: number;
  sendLeaseMs: number;
}

const args = JSON.parse(process.argv[2]!) as SenderProcessArgs;
const channel = new Channel<{ i: number }>({
  sqs: new SQSClient(localConfig),
  dynamodb: new DynamoDBClient(localConfig),
  tableName: args.tableName,
  name: args.name,
  queueUrl: args.queueUrl,
  sendLeaseMs: args.sendLeaseMs,
});
for (let i = args.from; i < args.to; i++) {
  try {
    await channel.send({ i });
    console.log(JSON.stringify({ sent: i }));
  } catch (err) {
    const code = err instanceof ChannelSendError ? err.failures[0]?.code : (err as Error).name;
    console.log(JSON.stringify({ failed: i, code }));
  }
}
