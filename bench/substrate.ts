/**
 * The bench's substrate section: what one call to the local cloud costs, as a ratio to the floor
 * any Python-hosted emulator pays, a bare HTTP round trip to a Python server on the same machine.
 *
 * The floor is a minimal `http.server` (HTTP/1.1, keep-alive, threaded as LocalStack's gateway is)
 * run by the same Python LocalStack runs on (its venv's), answering a small JSON POST with a small
 * JSON body; it is called through Node's http with a keep-alive agent, as the SDK calls LocalStack.
 * Each call is timed pair by pair with a floor call, the order alternating, so load on the machine
 * hits both alike; a run's ratio is median(call) / median(floor), and the section reports the
 * median over runs with the spread.
 *
 * `npx tsx bench/substrate.ts [--quick]` runs this section alone against the running LocalStack
 * (printing the ratios as JSON), for profiling the per-call path without the whole bench.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { stat, type SubstrateCall, type SubstrateResults } from './results.ts';

/** A Python server answering every POST with a small JSON body; prints its port, then serves. */
const FLOOR_SERVER = String.raw`
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Floor(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = json.loads(body or b"{}")
        answer = json.dumps({"ok": True, "echo": request.get("n")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Floor)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
`;

/** The floor server, running: `call()` is one round trip to it. */
export interface Floor {
  call: () => Promise<void>;
  stop: () => void;
}

/** Starts the floor server on `python` (LocalStack's venv python) and a keep-alive client for it. */
export async function startFloor(python: string): Promise<Floor> {
  const child: ChildProcess = spawn(python, ['-c', FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the floor server exited (code ${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
  });
  child.removeAllListeners('exit');
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  let n = 0;
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ TableName: 'floor', Key: { pk: { S: 'floor' } }, n: n++ });
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          agent,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            try {
              JSON.parse(Buffer.concat(chunks).toString());
              resolve();
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    call,
    stop: () => {
      agent.destroy();
      child.kill();
    },
  };
}

export interface SubstrateClients {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  lambda: LambdaClient;
}

export interface SubstrateOptions {
  clients: SubstrateClients;
  floor: Floor;
  /** A mesh table (pk, sk strings). */
  tableName: string;
  /** A queue of its own (the section sends, receives and deletes on it). */
  queueUrl: string;
  /** The function to invoke (the stack's ping), or undefined to skip Invoke. */
  functionName?: string;
  runs: number;
  iterations: number;
  transactionWindowMs: number;
  log?: (line: string) => void;
}

const elapsed = (startedAt: number) => performance.now() - startedAt;

/** One timed call of each kind; `prepare` (untimed) runs before each (e.g. a message to receive). */
interface Measured {
  call: SubstrateCall;
  once: (i: number) => Promise<unknown>;
  prepare?: (i: number) => Promise<unknown>;
}

/** Runs the substrate section: every call `iterations` times per run, each paired with a floor call. */
export async function measureSubstrate(options: SubstrateOptions): Promise<SubstrateResults> {
  const { clients, floor, tableName, queueUrl, runs, iterations } = options;
  const { dynamodb, sqs, lambda } = clients;
  const prefix = `substrate#${randomUUID().slice(0, 8)}`;
  const key = (i: number) => ({ pk: { S: `${prefix}#${i}` }, sk: { S: 'item' } });
  const skipped: SubstrateResults['skipped'] = {};
  // Items to read and to update: one per iteration (a hot key would meet strict mode's throttling).
  for (let i = 0; i < iterations; i++)
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...key(i), value: { N: String(i) }, owner: { S: 'bench' } } }));
  for (let i = 0; i < 3; i++)
    await dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: `${prefix}#q` }, sk: { S: `r${i}` }, v: { N: '1' } } }),
    );
  let round = 0;
  const receipts: string[] = [];
  const measured: Measured[] = [
    {
      call: 'dynamodbGetItem',
      once: (i) => dynamodb.send(new GetItemCommand({ TableName: tableName, Key: key(i), ConsistentRead: true })),
    },
    {
      call: 'dynamodbPutItem',
      once: (i) =>
        dynamodb.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk: { S: `${prefix}#put#${round}#${i}` }, sk: { S: 'item' }, value: { N: String(i) } },
          }),
        ),
    },
    {
      call: 'dynamodbConditionalUpdateItem',
      once: (i) =>
        dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(i),
            UpdateExpression: 'SET #value = #value + :one, #leaseUntil = :until',
            ConditionExpression: '#owner = :me AND attribute_exists(#value)',
            ExpressionAttributeNames: { '#value': 'value', '#owner': 'owner', '#leaseUntil': 'leaseUntil' },
            ExpressionAttributeValues: { ':one': { N: '1' }, ':me': { S: 'bench' }, ':until': { N: String(Date.now() + 15_000) } },
            ReturnValues: 'ALL_NEW',
          }),
        ),
    },
    {
      call: 'dynamodbQuery',
      once: () =>
        dynamodb.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `${prefix}#q` } },
            ConsistentRead: true,
          }),
        ),
    },
    {
      call: 'dynamodbTransactWriteItems',
      once: (i) =>
        dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: tableName, Item: { pk: { S: `${prefix}#tx#${round}#${i}` }, sk: { S: 'a' }, v: { N: '1' } } } },
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: { S: `${prefix}#tx#${round}#${i}` }, sk: { S: 'b' } },
                  UpdateExpression: 'ADD #n :one',
                  ConditionExpression: 'attribute_not_exists(#n)',
                  ExpressionAttributeNames: { '#n': 'n' },
                  ExpressionAttributeValues: { ':one': { N: '1' } },
                },
              },
            ],
          }),
        ),
    },
    { call: 'sqsSendMessage', once: (i) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ i }) })) },
    {
      call: 'sqsReceiveMessage',
      // A message waits (sent untimed) before each timed receive; its receipt feeds DeleteMessage.
      prepare: (i) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ i }) })),
      once: async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }),
        );
        if (!Messages.length) throw new Error('substrate bench: ReceiveMessage found no message waiting');
        receipts.push(Messages[0]!.ReceiptHandle!);
      },
    },
    {
      call: 'sqsDeleteMessage',
      prepare: async () => {
        // Strict mode's duplicates and the sends above leave messages behind; one to delete is always here.
        if (receipts.length) return;
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        receipts.push(...Messages.map((m) => m.ReceiptHandle!));
      },
      once: () => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipts.pop()! })),
    },
  ];
  if (options.functionName) {
    const functionName = options.functionName;
    try {
      await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
      const payload = Buffer.from('{}');
      await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: payload })); // warm
      measured.push({ call: 'lambdaInvoke', once: () => lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: payload })) });
    } catch (err) {
      skipped.lambdaInvoke = `${functionName} is not deployed (${(err as Error).name})`;
    }
  } else skipped.lambdaInvoke = 'no function to invoke';

  const perRun = new Map<SubstrateCall, { call: number[]; floor: number[]; ratio: number[]; lessWait: number[] }>();
  const designedWaitMs = (call: SubstrateCall) => (call === 'dynamodbTransactWriteItems' ? options.transactionWindowMs : 0);
  const allFloor: number[] = [];
  // Warm-up: one of each, untimed.
  for (const m of measured) {
    await m.prepare?.(iterations);
    await m.once(iterations).catch((err: Error) => {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    });
    await floor.call();
  }
  for (let run = 0; run < runs; run++) {
    round = run;
    for (const m of measured) {
      const callTimes: number[] = [];
      const floorTimes: number[] = [];
      for (let i = 0; i < iterations; i++) {
        await m.prepare?.(i);
        const timeCall = async () => {
          const startedAt = performance.now();
          await m.once(i);
          callTimes.push(elapsed(startedAt));
        };
        const timeFloor = async () => {
          const startedAt = performance.now();
          await floor.call();
          floorTimes.push(elapsed(startedAt));
        };
        if (i % 2) {
          await timeCall();
          await timeFloor();
        } else {
          await timeFloor();
          await timeCall();
        }
      }
      const entry = perRun.get(m.call) ?? { call: [], floor: [], ratio: [], lessWait: [] };
      perRun.set(m.call, entry);
      const callMs = stat(callTimes).median;
      const floorMs = stat(floorTimes).median;
      entry.call.push(callMs);
      entry.floor.push(floorMs);
      entry.ratio.push(callMs / floorMs);
      entry.lessWait.push(Math.max(0, callMs - designedWaitMs(m.call)) / floorMs);
      allFloor.push(...floorTimes);
    }
    options.log?.(
      `  substrate run ${run + 1}/${runs}: ${[...perRun].map(([call, e]) => `${call} ${e.ratio.at(-1)!.toFixed(1)}×`).join(', ')}`,
    );
  }
  const calls: SubstrateResults['calls'] = {};
  for (const [call, entry] of perRun)
    calls[call] = {
      ratio: stat(entry.ratio),
      callMs: stat(entry.call),
      floorMs: stat(entry.floor),
      ...(designedWaitMs(call) > 0 ? { ratioLessDesignedWait: stat(entry.lessWait) } : {}),
    };
  return { floorMs: stat(allFloor), transactionWindowMs: options.transactionWindowMs, calls, skipped };
}

// --- alone: `npx tsx bench/substrate.ts [--quick] [--compare <port>]` ---------------------------

/** Figures of several runs of `measureSubstrate` (one run each), merged as if they were one call's runs. */
function merge(parts: SubstrateResults[]): SubstrateResults {
  const calls: SubstrateResults['calls'] = {};
  const keys = [...new Set(parts.flatMap((part) => Object.keys(part.calls) as SubstrateCall[]))];
  for (const key of keys) {
    const figures = parts.map((part) => part.calls[key]).filter((figure) => figure !== undefined);
    const of = (pick: (figure: (typeof figures)[number]) => number | undefined) =>
      figures.map(pick).filter((value): value is number => value !== undefined);
    const lessWait = of((figure) => figure.ratioLessDesignedWait?.median);
    calls[key] = {
      ratio: stat(of((figure) => figure.ratio.median)),
      callMs: stat(of((figure) => figure.callMs.median)),
      floorMs: stat(of((figure) => figure.floorMs.median)),
      ...(lessWait.length ? { ratioLessDesignedWait: stat(lessWait) } : {}),
    };
  }
  return {
    floorMs: stat(parts.map((part) => part.floorMs.median)),
    transactionWindowMs: parts[0]!.transactionWindowMs,
    calls,
    skipped: Object.assign({}, ...parts.map((part) => part.skipped)),
  };
}

/**
 * The section alone, on the project's LocalStack; with `--compare <port>`, also on a second
 * LocalStack at that port (e.g. one started with `FNMESH_FAST_PATH=0`), run by run in turn, the
 * order alternating, one floor for both: the two side by side in one run.
 */
async function alone(): Promise<void> {
  const { ensureVenv, strictStatus, up, endpointOf, LOCALSTACK_PORT } = await import('../infra/localstack/localstack.ts');
  const { countedClients, localClientConfig } = await import('../infra/localstack/clients.ts');
  const { createMeshTableNamed } = await import('../infra/localstack/resources.ts');
  const { CreateQueueCommand, DeleteQueueCommand } = await import('@aws-sdk/client-sqs');
  const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
  const { CallCounter } = await import('../lib/faults/callCounter.ts');
  const { FUNCTIONS, resourceName } = await import('../infra/stack.ts');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const quick = process.argv.includes('--quick');
  const compareAt = process.argv.indexOf('--compare');
  const ports = [LOCALSTACK_PORT, ...(compareAt > 0 ? [Number(process.argv[compareAt + 1])] : [])];
  await up({ log });
  const floor = await startFloor(await ensureVenv(log));
  const targets = await Promise.all(
    ports.map(async (port) => {
      const endpoint = endpointOf({ port, stateDir: '' });
      const clients = countedClients(new CallCounter(), localClientConfig({ endpoint }));
      const tableName = await createMeshTableNamed(`fnmesh-test-substrate-${randomUUID().slice(0, 8)}`, clients.dynamodb);
      const { QueueUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: `fnmesh-test-substrate-${randomUUID().slice(0, 8)}` }),
      );
      const strict = await strictStatus(endpoint);
      return {
        port,
        clients,
        tableName,
        queueUrl: QueueUrl!,
        transactionWindowMs: strict?.enabled ? Number(strict.settings.transaction_window_ms ?? 0) : 0,
      };
    }),
  );
  try {
    const runs = quick ? 3 : 5;
    const parts = targets.map(() => [] as SubstrateResults[]);
    for (let run = 0; run < runs; run++) {
      const order = run % 2 ? [...targets.keys()].reverse() : [...targets.keys()];
      for (const index of order) {
        const target = targets[index]!;
        log(`port ${target.port}, run ${run + 1}/${runs}`);
        parts[index]!.push(
          await measureSubstrate({
            ...target,
            floor,
            functionName: resourceName('local', FUNCTIONS.ping),
            runs: 1,
            iterations: quick ? 40 : 100,
            log,
          }),
        );
      }
    }
    const results = Object.fromEntries(targets.map((target, index) => [String(target.port), merge(parts[index]!)]));
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    floor.stop();
    for (const { clients, tableName, queueUrl } of targets) {
      await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      await clients.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  alone().catch((err: Error) => {
    process.stderr.write(`substrate bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
