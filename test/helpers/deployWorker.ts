/**
 * Bundles a test fixture (or, with `entry`, any handler of the project, e.g.
 * `functions/taskfailures/handler.ts`) with esbuild and creates it as a Lambda function on LocalStack.
 */
import { DeleteFunctionCommand } from '@aws-sdk/client-lambda';
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { join } from 'node:path';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { lambda } from '../../infra/localstack/resources.ts';
import { createInlineFunction } from './inlineFunction.ts';

export async function deployFixture(
  fixture: string,
  functionName: string,
  options: { timeout?: number; environment?: Record<string, string>; entry?: string } = {},
): Promise<() => Promise<void>> {
  const bundle = await build({
    entryPoints: [options.entry ? join(projectRoot, options.entry) : join(projectRoot, 'test', 'fixtures', `${fixture}.ts`)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // functions/ import 'fnmesh': resolve it to the TypeScript sources, as serverless.yml does.
    conditions: ['fnmesh-source'],
    write: false,
    logLevel: 'silent',
  });
  await createInlineFunction(lambda, {
    name: functionName,
    code: zipSync({ 'index.js': bundle.outputFiles[0]!.contents }),
    timeout: options.timeout ?? 10,
    memorySize: 256,
    environment: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.environment },
  });
  return async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: functionName })).catch(() => undefined);
  };
}
