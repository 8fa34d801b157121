/**
 * Exact API call counts: an SDK middleware on the benchmark's own clients counts every request
 * that reaches the wire (retries included), by service and operation. Deterministic, whatever
 * the machine's noise.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCALSTACK_ENDPOINT } from '../infra/localstack/localstack.ts';

export class CallCounter {
  private readonly counts = new Map<string, number>();

  /** Counts by `Service.Operation`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }

  total(service?: string): number {
    let sum = 0;
    for (const [key, count] of this.counts) if (!service || key.startsWith(`${service}.`)) sum += count;
    return sum;
  }

  attach<C extends { middlewareStack: DynamoDBClient['middlewareStack'] }>(client: C, service: string): C {
    client.middlewareStack.add(
      (next, context) => (args) => {
        const key = `${service}.${String(context.commandName).replace(/Command$/, '')}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
        return next(args);
      },
      // Inside the retry middleware: every attempt on the wire counts.
      { step: 'finalizeRequest', priority: 'low', name: `count-${service}` },
    );
    return client;
  }
}

const local = { endpoint: LOCALSTACK_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

/** Clients for LocalStack whose calls `counter` counts. */
export function countedClients(counter: CallCounter) {
  return {
    dynamodb: counter.attach(new DynamoDBClient(local), 'DynamoDB') as DynamoDBClient,
    sqs: counter.attach(new SQSClient(local) as never, 'SQS') as SQSClient,
    lambda: counter.attach(new LambdaClient(local) as never, 'Lambda') as LambdaClient,
  };
}
