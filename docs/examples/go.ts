// Fire and forget: Go's `go hello()` as an asynchronous Lambda invocation.
import { LambdaClient } from '@aws-sdk/client-lambda';
import { go } from 'fnmesh';

const lambda = new LambdaClient({});

export async function spawnHello(): Promise<void> {
  await go(lambda, 'fnmesh-dev-hello', { greeting: 'Hello, World!' });
}
