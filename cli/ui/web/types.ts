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
  /** Where its logs are, if it ran in a Lambda invocation (hops recorded before fnmesh kept this have none). */
  logs?: ApiHopLogs | null;
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

/** A function of the stack, with its AWS/Lambda counts over the last `windowMinutes` (null: not read). */
export interface ApiTopologyFunction {
  kind: 'function';
  /** The template's logical id (unique in the document). */
  id: string;
  /** The function's name (`fnmesh-<stage>-worker`). */
  name: string;
  /** The name without the stack's `<service>-<stage>-` prefix (`worker`). */
  label: string;
  invocations: number | null;
  errors: number | null;
}

/** A queue of the stack (a channel's, a dead-letter queue, a destination), with SQS's approximate counts (null: not read). */
export interface ApiTopologyQueue {
  kind: 'queue';
  id: string;
  name: string;
  label: string;
  /** Its dead-letter queue's id (RedrivePolicy), or null. */
  deadLetterQueue: string | null;
  /** True if another queue of the stack dead-letters into this one. */
  isDeadLetterQueue: boolean;
  /** Waiting to be received (visible + delayed). */
  queued: number | null;
  /** Received and not yet deleted (not visible). */
  inFlight: number | null;
  /** Messages in its dead-letter queue (all of them), or null if it has none or it was not read. */
  deadLetters: number | null;
}

export interface ApiTopologyTable {
  kind: 'table';
  id: string;
  name: string;
  label: string;
}

export type ApiTopologyNode = ApiTopologyFunction | ApiTopologyQueue | ApiTopologyTable;

/**
 * How two nodes are connected:
 * - `trigger`: an event source mapping, the queue (or table stream) invokes the function;
 * - `receives`: the function may receive from the queue itself (IAM), without a mapping;
 * - `sends`: the function may send to the queue (IAM, or its environment when the role is not in the template);
 * - `on-failure`, `on-success`: Lambda's destination (or dead-letter config) for the function's asynchronous invocations;
 * - `dead-letter`: the queue's RedrivePolicy;
 * - `table`: the function reads and/or writes the table (IAM);
 * - `invokes`: the function may invoke the other (IAM lambda:InvokeFunction: rpc, go);
 * - `uses`: named in the function's environment, direction unknown (its role is not in the template).
 */
export type ApiTopologyEdgeKind =
  'trigger' | 'receives' | 'sends' | 'on-failure' | 'on-success' | 'dead-letter' | 'table' | 'invokes' | 'uses';

export interface ApiTopologyEdge {
  /** Node ids. */
  from: string;
  to: string;
  kind: ApiTopologyEdgeKind;
  /** `table` edges: what the function's role allows on the table. */
  access?: 'read' | 'write' | 'read-write';
  /** Where in the template the edge comes from, in words (e.g. `event source mapping WorkerEventSourceMappingSQSTasksQueue`). */
  evidence: string[];
}

/** `GET /api/topology`: the deployed stack as a graph, with live counts. */
export interface ApiTopology {
  stage: string;
  /** The CloudFormation stack read (`<service>-<stage>`). */
  stackName: string;
  /** Which of the stack's templates: CloudFormation's `Processed` (after transforms), else `Original`. */
  templateStage: 'Processed' | 'Original';
  /** When the template was read (epoch ms, server clock); it is re-read now and then, for redeploys. */
  templateReadAt: number;
  /** When the queues' counts were read. */
  readAt: number;
  /** When the functions' counts were read (they are reused for a minute on AWS, where each read is billed); null if not read. */
  metricsReadAt: number | null;
  /** The functions' counts are over this many minutes up to `metricsReadAt`. */
  windowMinutes: number;
  nodes: ApiTopologyNode[];
  edges: ApiTopologyEdge[];
  /** What the graph leaves out or could only infer, in words. */
  notes: string[];
  /** Reads that failed (the counts they give are null), in words; empty if all succeeded. */
  problems: string[];
}

/** A channel whose dead letters the page can read, in `GET /api/dead-letters`. */
export interface ApiDeadLetterQueue {
  channel: string;
  /** The channel's queue, where a redrive sends its dead letters (full name). */
  queue: string;
  /** Its dead-letter queue (full name). */
  deadLetterQueue: string;
  /** Whether other channels' dead letters share that queue (the shards). */
  shared: boolean;
}

/** `GET /api/dead-letters`: the channels, and whether this server may redrive (its only action). */
export interface ApiDeadLetterQueues {
  queues: ApiDeadLetterQueue[];
  redrive: { allowed: boolean; reason: string | null };
}

/** One dead letter, as `fnmesh dlq <channel> list` shows it. */
export interface ApiDeadLetter {
  messageId: string;
  /** SQS's ApproximateReceiveCount (each peek counts). */
  receiveCount: number;
  /** Why a Channel set it aside; null if SQS's redrive policy moved it (the reason is then in the consumer's logs). */
  reason: string | null;
  /** The channel it came from, if known. */
  source: string | null;
  /** The envelope's id, trace id and send time, or null if the body is not an envelope. */
  envelope: { id: string; traceId: string; sentAt: number } | null;
  /** The value (the envelope's body), or the raw message body if it is not an envelope. */
  body: unknown;
}

/** `GET /api/dead-letters/<channel>?max=N`: a peek at a channel's dead letters. */
export interface ApiDeadLetters {
  channel: string;
  queue: string;
  deadLetterQueue: string;
  /** When the server read them (epoch ms, server clock). */
  readAt: number;
  /** The most the read returned; `messages.length === max` means there may be more. */
  max: number;
  messages: ApiDeadLetter[];
}

/** The body of `POST /api/dead-letters/<channel>/redrive`: every dead letter of the channel, or the listed ones. */
export type ApiRedriveRequest = { all: true } | { messageIds: string[] };

/** The answer of `POST /api/dead-letters/<channel>/redrive`. */
export interface ApiRedrive {
  channel: string;
  /** Where the messages went, and where they came from. */
  queue: string;
  deadLetterQueue: string;
  moved: number;
  /** Refused by SQS: still in the dead-letter queue; `failures` says why. */
  failed: number;
  /** Another shard's (or of unknown origin): left in the shared dead-letter queue. */
  skipped: number;
  /** Sent but not deleted from the dead-letter queue: in both queues. */
  duplicated: number;
  failures: { messageId: string; reason: string }[];
  /** Asked-for ids that were not in the dead-letter queue (gone, or held by another receiver). */
  notFound: string[];
  durationMs: number;
}

/** Where a hop's logs are (a Lambda invocation's), on `ApiHop.logs`; absent on hops recorded without them. */
export interface ApiHopLogs {
  /** The function's log group. */
  group: string;
  /** The execution environment's log stream. */
  stream: string;
  /** The invocation's request id. */
  requestId: string;
  /** The AWS console's page of that stream, filtered to the request id; absent on stage local. */
  consoleUrl?: string;
}

/** `GET /api/logs?group=…&stream=…&request=…[&from=ms&to=ms&limit=N&next=token]`: one invocation's log lines. */
export interface ApiLogLines {
  group: string;
  stream: string;
  requestId: string;
  /** In time order, each line's timestamp (epoch ms) and text. */
  lines: { timestamp: number; message: string }[];
  /** More lines may follow: ask again with `next=` this. */
  nextToken: string | null;
  /** The AWS console's page of the stream, or null on stage local. */
  consoleUrl: string | null;
}
