/**
 * The documents `fnmesh ui`'s JSON API answers with: the contract between the server (Node,
 * cli/ui/data.ts builds them from the readers `fnmesh status` and `fnmesh trace` use, and the
 * compiler checks they fit) and the page (browser). Types only, so both sides can import it.
 */

export interface ApiChannel {
  name: string;
  /** Sent and not yet received (Go's `len(ch)`), exact. */
  queued: number;
  sent: number;
  received: number;
  abandoned: number;
  closed: boolean;
  /** Messages in its dead-letter queue (SQS's approximate count), or null if none or unreadable. */
  dlqDepth: number | null;
}

/** One of several holders: an RWMutex's reader, a Semaphore's permit holder. */
export interface ApiLockHolder {
  holder: string;
  /** Lease left when read (ms); 0 once expired (the entry stays until the next grant). */
  leaseLeftMs: number;
  /** Semaphore: the permits it holds. */
  weight?: number;
}

export interface ApiLock {
  name: string;
  kind: 'mutex' | 'rwmutex' | 'semaphore';
  /** The (write) holder, `<owner>/<uuid>`, or null if none; a Semaphore's is always null. */
  holder: string | null;
  /** Mutex: grants so far; RWMutex: write grants; Semaphore: 0 (no fence). */
  fence: number;
  /** The (write) holder's lease left when read (ms); 0 once expired; null if none. */
  leaseLeftMs: number | null;
  /** RWMutex: its readers. */
  readers?: ApiLockHolder[];
  /** RWMutex: a writer waits for the readers to drain. */
  writerWaiting?: boolean;
  /** Semaphore: permits held by live holders, of capacity; every holder entry. */
  permits?: { held: number; capacity: number; holders: ApiLockHolder[] };
}

export interface ApiTaskFailure {
  taskId: string;
  functionName: string;
  errorType: string;
  errorMessage: string;
}

export interface ApiGroup {
  id: string;
  started: number;
  pending: number;
  succeeded: number;
  failed: number;
  firstError: ApiTaskFailure | null;
}

export interface ApiWaitGroup {
  name: string;
  count: number;
  started: number;
  lost: number;
  firstLost: ApiTaskFailure | null;
}

export interface ApiOnce {
  key: string;
  state: string;
  fence: number;
  owner: string | null;
}

export interface ApiStrict {
  enabled: boolean;
  settings: Record<string, number | boolean>;
  counts: Record<string, number>;
}

/** `GET /api/status` and each `status` event of `GET /api/events`. */
export interface ApiStatus {
  stage: string;
  tableName: string;
  /** When the server read it (epoch ms, server clock). */
  readAt: number;
  channels: ApiChannel[];
  /** In all the stack's dead-letter queues, each queue counted once. */
  deadLetters: number;
  locks: ApiLock[];
  groups: ApiGroup[];
  waitGroups: ApiWaitGroup[];
  onceKeys: ApiOnce[];
  /** Stage local: LocalStack's strict mode; else null. */
  strict: ApiStrict | null;
}

/** One run in `GET /api/traces`. */
export interface ApiTraceSummary {
  traceId: string;
  name: string;
  startedAt: number;
  durationMs: number;
  hops: number;
  failed: number;
}

export interface ApiTraces {
  traces: ApiTraceSummary[];
}

export interface ApiHop {
  hopId: string;
  kind: string;
  name: string;
  startedAt: number;
  offsetMs: number;
  durationMs: number;
  outcome: string;
  parent: string | null;
  detail: Record<string, string | number | boolean> | null;
}

/** `GET /api/traces/<traceId>`: what `fnmesh trace --json` prints. */
export interface ApiTrace {
  traceId: string;
  startedAt: number;
  durationMs: number;
  hops: ApiHop[];
}

/** Any refusal or failure: 403, 404, 405, 421, 500. */
export interface ApiError {
  error: { status: number; message: string };
}
