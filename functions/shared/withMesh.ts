/**
 * The middy stack every fnmesh function shares: structured JSON logs carrying the Lambda
 * context (request id, function name, cold start) from Powertools Logger.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

export const logger = new Logger({ serviceName: 'fnmesh' });

export function withMesh<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy(handler).use(injectLambdaContext(logger, { resetKeys: true }));
}
