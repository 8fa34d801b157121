/**
 * The `fnmesh/middlewares` entry point: the middy middlewares a worker's handler stacks
 * (`taskCompletion` for tracked tasks, `workerFaults` for chaos on a stage). They are plain
 * middleware objects: @middy/core is needed for its types and for `middy(handler).use(...)`, not by
 * fnmesh at run time.
 */
export { taskCompletion, type TaskCompletionOptions } from './taskCompletion.ts';
export {
  InjectedWorkerFault,
  WORKER_FAULT_KINDS,
  type WorkerFaultKind,
  workerFaults,
  workerFaultsFromEnv,
  type WorkerFaultOptions,
} from './workerFaults.ts';
