/**
 * fnmesh: Go's concurrency model on AWS serverless. Named exports only.
 */
export {
  ChannelCapacityError,
  ChannelClosedError,
  ChannelSendError,
  type ChannelSendFailure,
  ChannelValueAbandonedError,
  ChannelValueHeldError,
  DeadlineExceededError,
  EmptyRingError,
  DuplicateTaskError,
  FencedWriteOutcomeUnknownError,
  GroupTaskError,
  InvalidInputError,
  ItemFormatError,
  type LockHolder,
  LockLostError,
  LockNotHeldError,
  MalformedEnvelopeError,
  MalformedRequestError,
  MeshAbortError,
  MeshConfigError,
  MeshError,
  OnceFailedError,
  PayloadTooLargeError,
  RpcError,
  RpcFunctionError,
  RpcInvalidArgumentsError,
  RpcMalformedResponseError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcTransportError,
  RpcUnknownMethodError,
  SemaphoreCapacityError,
  SemaphoreReleaseError,
  SemaphoreWeightError,
  ShardCountMismatchError,
  StaleFenceError,
  type TaskFailure,
  TransactionConflictError,
  WaitGroupNegativeCounterError,
  WaitGroupTaskLostError,
} from './errors.ts';
export {
  Channel,
  type ChannelOptions,
  type ConsumeOptions,
  type ConsumeSummary,
  type ChannelStatus,
  DEFAULT_MAX_MESSAGE_BYTES,
  type QueueRecord,
  type Received,
  type RecordOutcome,
  type SendOptions,
} from './channel/Channel.ts';
export {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  ENVELOPE_VERSION,
  envelopeOf,
  newTraceId,
  type TraceContext,
  traceContextOf,
} from './channel/envelope.ts';
export { type Shard, ShardedChannel, type ShardedChannelOptions } from './channel/ShardedChannel.ts';
export { type ReceiveCase, recv, select, type SelectableChannel, type SelectOptions, type SelectResult } from './channel/select.ts';
export { type BackoffOptions } from './internal/time.ts';
export { CallCounter, type CallTally, type Refusal, refusalOf } from './faults/callCounter.ts';
export { InjectedFaultError, SDK_FAULT_KINDS, type SdkFaultKind, SdkFaults, type SdkFaultOptions } from './faults/sdkFaults.ts';
export { randomInt, type Random, seededRandom } from './faults/random.ts';
export { taskCompletion, type TaskCompletionOptions } from './middlewares/taskCompletion.ts';
export {
  InjectedWorkerFault,
  WORKER_FAULT_KINDS,
  type WorkerFaultKind,
  workerFaults,
  workerFaultsFromEnv,
  type WorkerFaultOptions,
} from './middlewares/workerFaults.ts';
export {
  ASYNC_PAYLOAD_LIMIT_BYTES,
  go,
  type GoOptions,
  InvokeRefusedError,
  isTaskEnvelope,
  type TaskEnvelope,
  type TaskGoOptions,
  type TaskRef,
  traceOfTask,
} from './spawn/go.ts';
export { Group, type GroupOptions, type GroupStatus } from './spawn/Group.ts';
export { checkTaskTimeout, DEFAULT_TASK_TIMEOUT_MS, TASK_DEADLINE_EXCEEDED } from './spawn/deadlines.ts';
export { type LostTask, lostTaskOf, recordLostTask } from './spawn/lostTasks.ts';
export { recordTaskOutcome, recordTaskStart, type TaskOutcome } from './spawn/taskRecord.ts';
export { type LeaseOptions } from './sync/lease.ts';
export { fencedPut, fencedUpdate, type FenceOptions, withFence, withFencePut } from './sync/fenced.ts';
export { type HeldLock, Mutex, type MutexOptions, type SignalOptions } from './sync/Mutex.ts';
export { Once, type OnceOptions, type OnceRun } from './sync/Once.ts';
export { type HeldReadLock, RWMutex, type RWMutexOptions } from './sync/RWMutex.ts';
export { type HeldPermits, Semaphore, type SemaphoreOptions } from './sync/Semaphore.ts';
export { WaitGroup, type WaitGroupOptions } from './sync/WaitGroup.ts';
export { BoundedAssigner, type BoundedLoadOptions, type KeyMove } from './ring/boundedLoad.ts';
export { jumpHash, murmur3, murmur3Bytes } from './ring/hash.ts';
export { DEFAULT_VIRTUAL_NODES, HashRing, type HashRingOptions, type RingNode } from './ring/HashRing.ts';
export { type CallOptions, type RemoteMethod, RpcClient, type RpcClientOptions } from './rpc/RpcClient.ts';
export {
  type ArgsOf,
  defineMethod,
  type LambdaContextLike,
  type MethodDefinition,
  type MethodMap,
  type ResultOf,
  type RpcContext,
  rpcHandler,
  RpcServer,
  type RpcServerOptions,
} from './rpc/RpcServer.ts';
export {
  RPC_VERSION,
  type RpcErrorBody,
  type RpcRequest,
  type RpcResponse,
  SYNC_PAYLOAD_LIMIT_BYTES,
  traceOfRequest,
} from './rpc/protocol.ts';
export { check, describeIssues, type Infer, type Issue, type Schema } from './schema.ts';
export { FORMAT_VERSION, keys } from './table/layout.ts';
export { type Hop, type HopKind, type HopLogs, lambdaInvocationLogs, Tracer, type TracerOptions } from './trace/Tracer.ts';
export {
  type ChannelRecord,
  type GroupRecord,
  type LeaseRecord,
  listMeshItems,
  MESH_ITEM_KINDS,
  type MeshItemKind,
  type MeshItems,
  meshItemsFilter,
  meshItemsOf,
  type MutexRecord,
  type OnceRecord,
  type RWMutexRecord,
  type SemaphoreRecord,
  type WaitGroupRecord,
} from './table/reader.ts';
