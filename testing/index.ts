/**
 * The `fnmesh/testing` entry point: the kit for a project's own tests. Faults injected into the AWS
 * SDK clients (`SdkFaults`) and into a worker (`workerFaults`), the call counter that tallies what
 * the clients sent (`CallCounter`), a seeded random source so a faulty run can be replayed, and
 * the local cloud for a test suite (`startLocalCloud`: a vitest globalSetup; `deployToLocalCloud`).
 * It lives outside lib/ so that the primitives' entry point carries none of it.
 */
export { CallCounter, type CallTally, type Refusal, refusalOf } from '../lib/faults/callCounter.ts';
export { randomInt, type Random, seededRandom } from '../lib/faults/random.ts';
export { InjectedFaultError, SDK_FAULT_KINDS, type SdkFaultKind, SdkFaults, type SdkFaultOptions } from '../lib/faults/sdkFaults.ts';
export {
  InjectedWorkerFault,
  WORKER_FAULT_KINDS,
  type WorkerFaultKind,
  workerFaults,
  workerFaultsFromEnv,
  type WorkerFaultOptions,
} from '../lib/middlewares/workerFaults.ts';

export {
  type DeployOptions,
  deployToLocalCloud,
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
  stopLocalCloud,
} from '../infra/localstack/testSetup.ts';
