/**
 * fnmesh: Go's concurrency model on AWS serverless. Named exports only.
 */
export {
  GroupTaskError,
  InvalidInputError,
  ItemFormatError,
  type LockHolder,
  LockLostError,
  LockNotHeldError,
  MeshAbortError,
  MeshConfigError,
  MeshError,
  OnceFailedError,
  PayloadTooLargeError,
  SemaphoreCapacityError,
  SemaphoreReleaseError,
  SemaphoreWeightError,
  StaleFenceError,
  type TaskFailure,
  WaitGroupNegativeCounterError,
} from './errors.ts';
export { type BackoffOptions } from './internal/time.ts';
export { taskCompletion, type TaskCompletionOptions } from './middlewares/taskCompletion.ts';
export {
  ASYNC_PAYLOAD_LIMIT_BYTES,
  go,
  type GoOptions,
  InvokeRefusedError,
  isTaskEnvelope,
  type TaskEnvelope,
  type TaskRef,
} from './spawn/go.ts';
export { Group, type GroupOptions, type GroupStatus } from './spawn/Group.ts';
export { recordTaskOutcome, type TaskOutcome } from './spawn/taskRecord.ts';
export { type LeaseOptions } from './sync/lease.ts';
export { fencedPut, fencedUpdate, type FenceOptions, withFence, withFencePut } from './sync/fenced.ts';
export { type HeldLock, Mutex, type MutexOptions, type SignalOptions } from './sync/Mutex.ts';
export { Once, type OnceOptions, type OnceRun } from './sync/Once.ts';
export { type HeldReadLock, RWMutex, type RWMutexOptions } from './sync/RWMutex.ts';
export { type HeldPermits, Semaphore, type SemaphoreOptions } from './sync/Semaphore.ts';
export { WaitGroup, type WaitGroupOptions } from './sync/WaitGroup.ts';
export { FORMAT_VERSION, keys } from './table/layout.ts';
