/**
 * A Lambda function created from code in hand (a zip, or the source of its index.js), for the
 * tests of the local cloud's Lambda service: Node.js 20 and `index.handler` unless told
 * otherwise, and active before it returns (unless `active: false`: a test of a function that
 * fails to become active waits for that itself).
 */
import { CreateFunctionCommand, type LambdaClient, type Runtime, waitUntilFunctionActiveV2 } from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';

export interface InlineFunction {
  name: string;
  /** The deployment package, or the source of its only file, index.js. */
  code: Uint8Array | string;
  handler?: string;
  runtime?: Runtime;
  /** Seconds; the service's default (3) when left out. */
  timeout?: number;
  memorySize?: number;
  environment?: Record<string, string>;
  active?: false;
}

export async function createInlineFunction(lambda: LambdaClient, fn: InlineFunction): Promise<void> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: fn.name,
      Runtime: fn.runtime ?? 'nodejs20.x',
      Handler: fn.handler ?? 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/fnmesh-test',
      Code: { ZipFile: typeof fn.code === 'string' ? zipSync({ 'index.js': strToU8(fn.code) }) : fn.code },
      ...(fn.timeout === undefined ? {} : { Timeout: fn.timeout }),
      ...(fn.memorySize === undefined ? {} : { MemorySize: fn.memorySize }),
      ...(fn.environment ? { Environment: { Variables: fn.environment } } : {}),
    }),
  );
  if (fn.active === false) return;
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: fn.name });
}
