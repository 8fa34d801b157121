/** Turns worker fault injection on or off for a deployed function (its FNMESH_WORKER_FAULTS). */
import {
  GetFunctionConfigurationCommand,
  type LambdaClient,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import type { WorkerFaultOptions } from '../lib/middlewares/workerFaults.ts';

/**
 * Sets the function's faults (undefined: none), keeping its other variables; returns a function
 * that puts its configuration back as it was.
 */
export async function setWorkerFaults(
  lambda: LambdaClient,
  FunctionName: string,
  faults: WorkerFaultOptions | string | undefined,
  extra: { Timeout?: number } = {},
): Promise<() => Promise<void>> {
  const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
  const variables = before.Environment?.Variables ?? {};
  const update = async (Variables: Record<string, string>, Timeout: number | undefined) => {
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables }, ...(Timeout ? { Timeout } : {}) }),
    );
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 60 }, { FunctionName });
  };
  const value = faults === undefined ? '' : typeof faults === 'string' ? faults : JSON.stringify(faults);
  await update({ ...variables, FNMESH_WORKER_FAULTS: value }, extra.Timeout);
  return () => update(variables, before.Timeout);
}
