/**
 * hello: the seed's goroutine. Started with `WaitGroup.go` (an asynchronous invoke); prints
 * "Hello, World!" and its WaitGroup membership is marked done by the taskCompletion middleware.
 */
import { taskCompletion } from 'fnmesh/middlewares';
import { dynamodb, tableName, tracer } from '../shared/clients.ts';
import { logger, withMesh } from '../shared/withMesh.ts';

export interface HelloEvent {
  from?: string;
}

async function hello(event: HelloEvent) {
  const greeting = 'Hello, World!';
  logger.info(greeting, { from: event?.from ?? 'unknown' });
  return { greeting };
}

export const handler = withMesh(hello, { tracer }).use(taskCompletion({ client: dynamodb, tableName }));
