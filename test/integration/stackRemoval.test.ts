/**
 * `serverless remove --stage local` takes the deployed stack away: this file runs after every
 * other (its project is the last group in vitest.config.ts); the next run's setup deploys again.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cloudformation, dynamodb, lambda, sqs } from '../../infra/localstack/resources.ts';
import { smokeStack, stackDeployed } from '../helpers/stack.ts';
import { serverless } from '../../infra/serverless/cli.ts';

beforeAll(stackDeployed); // the run's one deploy (test/helpers/stack.ts)

describe('serverless remove --stage local', () => {
  it('removes the stack and everything in it', async () => {
    const result = await serverless(['remove', '--stage', 'local']);

    expect(result.code, result.stdout + result.stderr).toBe(0);
    await expect(cloudformation.send(new DescribeStacksCommand({ StackName: 'fnmesh-local' }))).rejects.toThrow(/does not exist/);
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: smokeStack.ping }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: smokeStack.queue }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    await expect(dynamodb.send(new DescribeTableCommand({ TableName: smokeStack.table }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
