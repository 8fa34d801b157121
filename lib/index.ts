/**
 * fnmesh: Go's concurrency model on AWS serverless. Named exports only.
 */
export {
  ChannelClosedError,
  ChannelSendError,
  EmptyRingError,
  GroupTaskError,
  InvalidInputError,
  ItemFormatError,
  type LockHolder,
  LockLostError,
  LockNotHeldError,
  MalformedEnvelopeError,
  MeshAbortError,
  MeshConfigError,
  MeshError,
  OnceFailedError,
  PayloadTooLargeError,
  RpcError,
  RpcFunctionError,
  RpcInvalidArgumentsError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcTransportError,
  RpcUnknownMethodError,
  SemaphoreCapacityError,
  SemaphoreReleaseError,
  SemaphoreWeightError,
  StaleFenceError,
  type TaskFailure,
  WaitGroupNegativeCounterError,
} from './errors.ts';
export { Channel, type ChannelOptions, type ChannelStatus, DEFAULT_MAX_MESSAGE_BYTES, type Received, type SendOptions } from './channel/Channel.ts';
export { decodeEnvelope, encodeEnvelope, type Envelope, ENVELOPE_VERSION, envelopeOf, newTraceId, type TraceContext } from './channel/envelope.ts';
export { type ReceiveCase, recv, select, type SelectableChannel, type SelectOptions, type SelectResult } from './channel/select.ts';
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
export { check, describeIssues, type Infer, type Issue, type Schema } from './schema.ts';
export { FORMAT_VERSION, keys } from './table/layout.ts';
