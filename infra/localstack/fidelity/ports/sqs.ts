/**
 * The SQS client the ports share: bundled with each port (not taken from the runtime), pointed at
 * the endpoint LocalStack gives every function in `AWS_ENDPOINT_URL`.
 */
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';

let client: SQSClient | undefined;

/** Sends one message with a JSON body. */
export async function sendJson(queueUrl: string, body: unknown): Promise<void> {
  client ??= new SQSClient({ ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}) });
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
}
