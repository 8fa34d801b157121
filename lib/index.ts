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
  StaleFenceError,
  type TaskFailure,
  WaitGroupNegativeCounterError,
} from './errors.ts';
export { type BackoffOptions } from './internal/time.ts';
export { type LeaseOptions } from './sync/lease.ts';
export { fencedPut, fencedUpdate, type FenceOptions, withFence, withFencePut } from './sync/fenced.ts';
export { type HeldLock, Mutex, type MutexOptions, type SignalOptions } from './sync/Mutex.ts';
export { FORMAT_VERSION, keys } from './table/layout.ts';
