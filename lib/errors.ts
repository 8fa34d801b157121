/**
 * fnmesh's error hierarchy: every error the library or its functions raise on purpose is a
 * `MeshError`, with a stable `name` and the data a caller needs to act on it. Where Go panics
 * (unlocking an unlocked mutex, a negative WaitGroup counter), fnmesh throws one of these.
 *
 * Names are spelled out rather than taken from the constructor, so they survive minifiers and
 * travel intact in Lambda error payloads (`errorType`).
 *
 * Length: one place for every error class (about 40, each with its doc comment), so that a caller
 * finds them all in one file and `instanceof` checks have one source; splitting it by primitive
 * would scatter the hierarchy for no gain.
 */
export class MeshError extends Error {
  override name: string = 'MeshError';
}

/** An event or message that does not have the shape a function expects. */
export class InvalidInputError extends MeshError {
  override name = 'InvalidInputError';
  /** Where in the input the problem is, e.g. `event.message`. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`invalid input at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/** A configuration value (option, environment variable) that is missing or wrong. */
export class MeshConfigError extends MeshError {
  override name = 'MeshConfigError';
}

/** The caller's `signal` aborted the operation; `cause` is the signal's reason. */
export class MeshAbortError extends MeshError {
  override name = 'MeshAbortError';
}

/** Who holds a lock, as the failed conditional write reported it. */
export interface LockHolder {
  owner: string;
  fence: number;
  /** Epoch milliseconds at which the holder's lease ends unless it is renewed. */
  leaseUntil: number;
}

/** `unlock()` of a lock this owner does not hold (Go: "unlock of unlocked mutex"). */
export class LockNotHeldError extends MeshError {
  override name = 'LockNotHeldError';
  readonly lockName: string;
  /** The current holder, if someone else holds it. */
  readonly holder: LockHolder | undefined;

  constructor(lockName: string, holder: LockHolder | undefined, message?: string) {
    super(message ?? `lock ${lockName} is not held by this owner${holder ? ` (held by ${holder.owner}, fence ${holder.fence})` : ''}`);
    this.lockName = lockName;
    this.holder = holder;
  }
}

/** A held lock's lease ended (heartbeat refused, or not renewed in time): it may be taken over. */
export class LockLostError extends MeshError {
  override name = 'LockLostError';
  readonly lockName: string;
  readonly fence: number;

  constructor(lockName: string, fence: number, reason: string, options?: ErrorOptions) {
    super(`lock ${lockName} (fence ${fence}) was lost: ${reason}`, options);
    this.lockName = lockName;
    this.fence = fence;
  }
}

/** A write guarded by a fencing token was refused: a newer holder has written already. */
export class StaleFenceError extends MeshError {
  override name = 'StaleFenceError';
  readonly fence: number;
  readonly latestFence: number;

  constructor(fence: number, latestFence: number) {
    super(`fence ${fence} is stale: the item was already written with fence ${latestFence}`);
    this.fence = fence;
    this.latestFence = latestFence;
  }
}

/**
 * A fenced write was refused as stale on an SDK retry, after an earlier attempt whose answer never
 * came back: that attempt may have been applied before the newer fence wrote. Unlike
 * StaleFenceError, this does not mean "not applied": read the item to know.
 */
export class FencedWriteOutcomeUnknownError extends MeshError {
  override name = 'FencedWriteOutcomeUnknownError';
  readonly fence: number;
  readonly latestFence: number;
  readonly attempts: number;

  constructor(fence: number, latestFence: number, attempts: number, options?: ErrorOptions) {
    super(
      `fence ${fence}: refused as stale (the item has fence ${latestFence}) on attempt ${attempts}; an earlier attempt may have been applied`,
      options,
    );
    this.fence = fence;
    this.latestFence = latestFence;
    this.attempts = attempts;
  }
}

/** A WaitGroup counter would go below zero (Go: "sync: negative WaitGroup counter"). */
export class WaitGroupNegativeCounterError extends MeshError {
  override name = 'WaitGroupNegativeCounterError';
  readonly groupName: string;

  constructor(groupName: string, delta: number) {
    super(`wait group ${groupName}: negative counter (adding ${delta})`);
    this.groupName = groupName;
  }
}

/** A payload over what the target accepts, refused before any call. */
export class PayloadTooLargeError extends MeshError {
  override name = 'PayloadTooLargeError';
  readonly bytes: number;
  readonly limit: number;

  constructor(what: string, bytes: number, limit: number) {
    super(`${what} is ${bytes} bytes, over the ${limit}-byte limit`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** What a failed task reported: where it ran, and its error's type and message. */
export interface TaskFailure {
  taskId: string;
  functionName: string;
  errorType: string;
  errorMessage: string;
}

/** `Group.wait()`: the first task that failed (Go's errgroup returns the first error). */
export class GroupTaskError extends MeshError {
  override name = 'GroupTaskError';
  readonly failure: TaskFailure;
  readonly failed: number;

  constructor(groupId: string, failure: TaskFailure, failed: number) {
    super(
      `group ${groupId}: task ${failure.taskId} (${failure.functionName}) failed with ${failure.errorType}: ${failure.errorMessage}` +
        (failed > 1 ? ` (and ${failed - 1} more)` : ''),
    );
    this.failure = failure;
    this.failed = failed;
  }
}

/**
 * `WaitGroup.wait()`: a task started by `WaitGroup.go` never reported (its deadline passed, or
 * Lambda gave up on it and its on-failure destination said so). Go's WaitGroup carries no errors,
 * and a worker that ran and failed still counts as done; a task that was lost is another matter:
 * nobody knows whether its work happened. `failure` is the first lost task; `lost` how many.
 */
export class WaitGroupTaskLostError extends MeshError {
  override name = 'WaitGroupTaskLostError';
  readonly groupName: string;
  readonly failure: TaskFailure;
  readonly lost: number;

  constructor(groupName: string, failure: TaskFailure, lost: number) {
    super(
      `wait group ${groupName}: task ${failure.taskId} (${failure.functionName}) never reported: ${failure.errorType}: ${failure.errorMessage}` +
        (lost > 1 ? ` (and ${lost - 1} more)` : ''),
    );
    this.groupName = groupName;
    this.failure = failure;
    this.lost = lost;
  }
}

/** `go` with a task id that this Group or WaitGroup has started before: refused before any invoke. */
export class DuplicateTaskError extends MeshConfigError {
  override name = 'DuplicateTaskError';
  readonly groupName: string;
  readonly taskId: string;

  constructor(groupName: string, taskId: string) {
    super(`${groupName}: task id ${taskId} was started before; a task id names one task`);
    this.groupName = groupName;
    this.taskId = taskId;
  }
}

/**
 * Participants of one WaitGroup or Group disagree on its number of shards (`shards` option): the
 * one stored with the group wins, the newcomer is refused before it miscounts. A participant of a
 * sharded group that does not know it is sharded (shards 1) is refused the same way.
 */
export class ShardCountMismatchError extends MeshConfigError {
  override name = 'ShardCountMismatchError';
  /** `waitgroup` or `group`. */
  readonly kind: string;
  readonly groupName: string;
  /** This participant's shard count. */
  readonly shards: number;
  /** The group's, as stored on its items. */
  readonly storedShards: number;

  constructor(kind: string, groupName: string, shards: number, storedShards: number) {
    super(
      `${kind} ${groupName}: this participant uses ${shards} shard${shards === 1 ? '' : 's'}, but the ${kind} has ${storedShards}; ` +
        'every participant (go, add, done, wait and the workers) must use the same shards',
    );
    this.kind = kind;
    this.groupName = groupName;
    this.shards = shards;
    this.storedShards = storedShards;
  }
}

/** `Once.do()`: the one run of the function threw; every caller gets this, like the first. */
export class OnceFailedError extends MeshError {
  override name = 'OnceFailedError';
  readonly key: string;
  readonly errorType: string;
  readonly errorMessage: string;

  constructor(key: string, errorType: string, errorMessage: string) {
    super(`once ${key}: the function failed with ${errorType}: ${errorMessage}`);
    this.key = key;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }
}

/**
 * A write kept meeting other transactions on its items (DynamoDB's `TransactionConflict`, or a
 * throttled partition) after every retry of the library's budget: nothing of it was applied.
 * `cause` is the last refusal.
 */
export class TransactionConflictError extends MeshError {
  override name = 'TransactionConflictError';
  /** What was being written, e.g. `channel tasks: count`. */
  readonly operation: string;
  readonly attempts: number;

  constructor(operation: string, attempts: number, options?: ErrorOptions) {
    super(`${operation}: still refused by conflicting transactions or throttling after ${attempts} attempts; nothing was applied`, options);
    this.operation = operation;
    this.attempts = attempts;
  }
}

/** An item in the mesh table that does not follow the documented format (or a newer version). */
export class ItemFormatError extends MeshError {
  override name = 'ItemFormatError';
}

/** A semaphore weight that is not a positive integer, or is more than the capacity (Go would block forever). */
export class SemaphoreWeightError extends MeshError {
  override name = 'SemaphoreWeightError';
  readonly semaphoreName: string;
  readonly weight: number;
  readonly capacity: number;

  constructor(semaphoreName: string, weight: number, capacity: number, message?: string) {
    super(message ?? `semaphore ${semaphoreName}: weight ${weight} is more than the capacity ${capacity}`);
    this.semaphoreName = semaphoreName;
    this.weight = weight;
    this.capacity = capacity;
  }
}

/** A release of more weight than is held (Go: "semaphore: released more than held"). */
export class SemaphoreReleaseError extends MeshError {
  override name = 'SemaphoreReleaseError';
  readonly semaphoreName: string;
  readonly released: number;
  readonly held: number;

  constructor(semaphoreName: string, released: number, held: number) {
    super(`semaphore ${semaphoreName}: released more than held (releasing ${released}, holding ${held})`);
    this.semaphoreName = semaphoreName;
    this.released = released;
    this.held = held;
  }
}

/** Participants of one semaphore disagree on its capacity: the stored one wins, the newcomer is refused. */
export class SemaphoreCapacityError extends MeshConfigError {
  override name = 'SemaphoreCapacityError';
  readonly semaphoreName: string;
  readonly capacity: number;
  readonly storedCapacity: number;

  constructor(semaphoreName: string, capacity: number, storedCapacity: number) {
    super(`semaphore ${semaphoreName}: capacity ${capacity} differs from the capacity ${storedCapacity} its participants already use`);
    this.semaphoreName = semaphoreName;
    this.capacity = capacity;
    this.storedCapacity = storedCapacity;
  }
}

/** Send on a closed channel, or a second close (Go: "send on closed channel", "close of closed channel"). */
export class ChannelClosedError extends MeshError {
  override name = 'ChannelClosedError';
  readonly channelName: string;
  /**
   * `sendMany` only: the indexes (into its `values`) of the values that were sent before the
   * channel closed, ascending; every other value was not sent.
   */
  readonly sentIndexes: readonly number[];

  constructor(channelName: string, message?: string, sentIndexes: readonly number[] = []) {
    super(message ?? `send on closed channel ${channelName}`);
    this.channelName = channelName;
    this.sentIndexes = sentIndexes;
  }
}

/** Participants of one channel disagree on its capacity: the stored one wins, the newcomer is refused. */
export class ChannelCapacityError extends MeshConfigError {
  override name = 'ChannelCapacityError';
  readonly channelName: string;
  /** This participant's capacity (undefined: unbounded). */
  readonly capacity: number | undefined;
  /** The channel's (undefined: unbounded). */
  readonly storedCapacity: number | undefined;

  constructor(channelName: string, capacity: number | undefined, storedCapacity: number | undefined) {
    const describe = (value: number | undefined) => (value === undefined ? 'unbounded' : `capacity ${value}`);
    super(`channel ${channelName}: this participant is ${describe(capacity)}, but the channel is ${describe(storedCapacity)}`);
    this.channelName = channelName;
    this.capacity = capacity;
    this.storedCapacity = storedCapacity;
  }
}

/** Messages that could not be sent after retries; none of them was counted as sent. */
/** A value a send did not deliver: its envelope id, its position in the call, and why. */
export interface ChannelSendFailure {
  id: string;
  /** The value's index in `sendMany`'s array (0 for `send`). */
  index: number;
  code: string;
  message: string;
}

export class ChannelSendError extends MeshError {
  override name = 'ChannelSendError';
  readonly channelName: string;
  /**
   * The envelope ids that were not sent, with the reason for each: SQS's code, `OutcomeUnknown`
   * (SQS may or may not have taken it: it was abandoned, and a copy that arrives is set aside,
   * never delivered) or `NotAttempted` (an earlier part of the send failed).
   */
  readonly failures: readonly ChannelSendFailure[];

  constructor(channelName: string, failures: readonly ChannelSendFailure[], options?: ErrorOptions) {
    super(
      `channel ${channelName}: ${failures.length} message(s) could not be sent (${failures[0]?.code}: ${failures[0]?.message})`,
      options,
    );
    this.channelName = channelName;
    this.failures = failures;
  }
}

/** A message that is not a valid fnmesh envelope (docs/wire-format.md), or whose body fails the schema. */
export class MalformedEnvelopeError extends MeshError {
  override name = 'MalformedEnvelopeError';
  /** Where in the envelope the problem is, e.g. `sentAt` or `body.a`. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`malformed envelope at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/** The base of errors an RPC call raises on the client. */
export class RpcError extends MeshError {
  override name: string = 'RpcError';
  readonly method: string;

  constructor(method: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.method = method;
  }
}

/** The remote method ran and returned an error: its name, message and whether a retry may succeed. */
export class RpcRemoteError extends RpcError {
  override name: string = 'RpcRemoteError';
  /** The error's name on the server, e.g. `QuoteUnavailableError`. */
  readonly remoteName: string;
  readonly retryable: boolean;

  constructor(method: string, remoteName: string, message: string, retryable: boolean) {
    super(method, `${method}: ${remoteName}: ${message}`);
    this.remoteName = remoteName;
    this.retryable = retryable;
  }
}

/** The server has no method of this name (Go: "rpc: can't find method"). */
export class RpcUnknownMethodError extends RpcRemoteError {
  override name = 'RpcUnknownMethodError';
}

/** The arguments do not match the method's schema; `issues` says where. */
export class RpcInvalidArgumentsError extends RpcRemoteError {
  override name = 'RpcInvalidArgumentsError';
  readonly issues: readonly { path: string; message: string }[];

  constructor(method: string, message: string, issues: readonly { path: string; message: string }[]) {
    super(method, 'InvalidArgumentsError', message, false);
    this.issues = issues;
  }
}

/** The function itself failed (crash, exit, timeout): Lambda's FunctionError, not the method's error. */
export class RpcFunctionError extends RpcError {
  override name = 'RpcFunctionError';
  readonly errorType: string;
  readonly errorMessage: string;

  constructor(method: string, errorType: string, errorMessage: string) {
    super(method, `${method}: the function failed with ${errorType}: ${errorMessage}`);
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }
}

/** The call did not reach the function or its answer did not come back (network, throttling, permissions). */
export class RpcTransportError extends RpcError {
  override name = 'RpcTransportError';
}

/** The call's `timeoutMs` passed before the answer came. */
export class RpcTimeoutError extends RpcError {
  override name = 'RpcTimeoutError';
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number, options?: ErrorOptions) {
    super(method, `${method}: no answer within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * An event that is not an fnmesh RPC request (docs/primitives/rpc.md): the server answers with it
 * (as an error response named `MalformedRequestError`) instead of crashing.
 */
export class MalformedRequestError extends InvalidInputError {
  override name = 'MalformedRequestError';

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(path, problem, options);
    this.message = `malformed RPC request at ${path}: ${problem}`;
  }
}

/**
 * The call's deadline passed (or the function is about to time out): the reason `ctx.signal`
 * aborts with on the server, and the error response of a call refused or cut short by it.
 * Never retryable: the caller has given up already.
 */
export class DeadlineExceededError extends MeshError {
  override name = 'DeadlineExceededError';
  readonly retryable = false;
}

/** The function answered, but not with an RPC response: it is not an fnmesh RPC server, or a newer one. */
export class RpcMalformedResponseError extends RpcError {
  override name = 'RpcMalformedResponseError';
  /** Where in the response the problem is, e.g. `error.name`. */
  readonly path: string;

  constructor(method: string, path: string, problem: string, options?: ErrorOptions) {
    super(method, `${method}: malformed RPC response at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/** A lookup on a hash ring with no nodes. */
export class EmptyRingError extends MeshError {
  override name = 'EmptyRingError';
}

/**
 * A channel value another receiver holds for its loop body right now (`acceptRecord` met a copy
 * of it). Retryable: after `heldUntil` the copy is either recognised as received, or free.
 */
export class ChannelValueHeldError extends MeshError {
  override name = 'ChannelValueHeldError';
  readonly channelName: string;
  readonly messageId: string;
  /** Epoch milliseconds at which the other receiver's hold ends. */
  readonly heldUntil: number;

  constructor(channelName: string, messageId: string, heldUntil: number) {
    super(`channel ${channelName}: value ${messageId} is held by another receiver until ${new Date(heldUntil).toISOString()}`);
    this.channelName = channelName;
    this.messageId = messageId;
    this.heldUntil = heldUntil;
  }
}

/**
 * A channel value whose sender gave it up (it could not tell whether SQS took it, or did not
 * confirm the send within its lease) and which arrived after all: it was counted out unsent and
 * is never delivered. fnmesh's receivers set such a message aside in the dead-letter queue.
 */
export class ChannelValueAbandonedError extends MeshError {
  override name = 'ChannelValueAbandonedError';
  readonly channelName: string;
  readonly messageId: string;

  constructor(channelName: string, messageId: string) {
    super(`channel ${channelName}: value ${messageId} was abandoned by its sender and is not delivered`);
    this.channelName = channelName;
    this.messageId = messageId;
  }
}
