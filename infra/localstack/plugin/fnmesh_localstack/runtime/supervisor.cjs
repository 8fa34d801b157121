'use strict';
// fnmesh runtime shim, supervisor side: one process per Lambda execution environment.
//
// It speaks LocalStack's executor protocol (what the Go init in LocalStack's Lambda containers
// speaks) and runs the user's handler in a forked worker (worker.cjs), so that a handler that
// times out, crashes or calls process.exit costs only the worker:
//
//   LocalStack --POST /invoke--> supervisor --ipc invoke--> worker --handler(event, context)
//   LocalStack <--logs, then response|error-- supervisor <--ipc log*, result|error-- worker
//
// On a timeout the worker is killed; on any worker exit a fresh worker is forked and initialised
// before the next invoke, as Lambda replaces a crashed runtime. With AWS_LAMBDA_EXEC_WRAPPER set,
// the worker is started through the wrapper (`wrapper node worker.cjs`), as AWS starts its runtime
// through it; the executor passes the wrapper's path on this host as LOCALSTACK_EXEC_WRAPPER.

const http = require('node:http');
const path = require('node:path');
const { fork, spawn } = require('node:child_process');

const env = process.env;
const RUNTIME_ID = env.LOCALSTACK_RUNTIME_ID;
const ENDPOINT = env.LOCALSTACK_RUNTIME_ENDPOINT;
const PORT = Number(env.LOCALSTACK_RUNTIME_PORT);
const TIMEOUT_MS = Number(env.AWS_LAMBDA_FUNCTION_TIMEOUT || 3) * 1000;
const MEMORY_MB = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || 128);
const VERSION = env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST';
const MAX_PAYLOAD_BYTES = Number(env.LOCALSTACK_MAX_PAYLOAD_SIZE || 6 * 1024 * 1024 + 100);
const EXEC_WRAPPER = env.LOCALSTACK_EXEC_WRAPPER;
const WORKER = path.join(__dirname, 'worker.cjs');

// The handler sees no LocalStack internals, like in a LocalStack container.
const workerEnv = Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('LOCALSTACK_')));

let worker = null; // { child, ready: Promise<InitOutcome> }
let current = null; // the invocation in flight
let pendingInitLogs = ''; // what the last init printed, shown with the next invocation
let shuttingDown = false;

function log(message) {
  process.stdout.write(`[fnmesh-runtime] ${message}\n`);
}

async function post(route, body, contentType = 'application/json') {
  const response = await fetch(`${ENDPOINT}${route}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  if (!response.ok) log(`POST ${route} answered ${response.status}`);
}

function startWorker() {
  const options = { env: workerEnv, cwd: env.LAMBDA_TASK_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
  // A wrapper ends with `exec "$@"`: the node it starts inherits the IPC channel (NODE_CHANNEL_FD).
  const child = EXEC_WRAPPER ? spawn(EXEC_WRAPPER, [process.execPath, WORKER], options) : fork(WORKER, [], options);
  const startedAt = performance.now();
  let settleInit;
  const ready = new Promise((resolve) => (settleInit = resolve));
  const handle = { child, ready, initMs: 0, initOk: false };
  child.on('message', (message) => {
    switch (message.type) {
      case 'log':
        if (current && current.worker === handle) current.logs += message.text;
        else pendingInitLogs += message.text;
        process.stdout.write(message.text);
        break;
      case 'ready':
        handle.initMs = performance.now() - startedAt;
        handle.initOk = true;
        settleInit({ ok: true });
        break;
      case 'init-error':
        settleInit({ ok: false, error: message.error });
        break;
      case 'result': {
        const body = message.bodyBase64 === undefined ? message.body : Buffer.from(message.bodyBase64, 'base64');
        finish(handle, { ok: true, body, rssMb: message.rssMb });
        break;
      }
      case 'error':
        finish(handle, { ok: false, error: message.error, rssMb: message.rssMb });
        break;
      default:
        log(`unknown message from worker: ${JSON.stringify(message)}`);
    }
  });
  child.on('error', (err) => {
    // The wrapper could not be started (missing, not executable): the runtime cannot start.
    settleInit({
      ok: false,
      error: { errorType: 'Runtime.InvalidEntrypoint', errorMessage: `fork/exec ${EXEC_WRAPPER}: ${err.message}` },
    });
  });
  child.on('exit', (code, signal) => {
    const how = signal ? `signal: ${signal}` : `exit status ${code}`;
    settleInit({
      ok: false,
      error: { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${how}` },
    });
    if (worker === handle) worker = null;
    // A worker that had started fine and then died (crash, exit, timeout kill) is replaced at
    // once, so the next invoke finds a warm one; one that failed its init is retried lazily.
    if (handle.initOk && !shuttingDown) ensureWorker();
    if (current && current.worker === handle) {
      finish(handle, {
        ok: false,
        error: {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${current.id} Error: Runtime exited with error: ${how}`,
        },
      });
    }
  });
  return handle;
}

function ensureWorker() {
  if (!worker) worker = startWorker();
  return worker;
}

function rfc3339Now() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** AWS's wording (2025): the invocation's error and the line the log shows before END. */
function timedOut(id) {
  const seconds = (TIMEOUT_MS / 1000).toFixed(2);
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${id} Error: Task timed out after ${seconds} seconds`,
    logLine: `${rfc3339Now()} ${id} Task timed out after ${seconds} seconds\n`,
  };
}

async function invoke(request) {
  const id = request['invoke-id'];
  const handle = ensureWorker();
  const initOutcome = await handle.ready;
  const startedAt = performance.now();
  const invocation = {
    id,
    worker: handle,
    logs: pendingInitLogs + `START RequestId: ${id} Version: ${VERSION}\n`,
    initMs: handle.initMs,
    startedAt,
    settled: false,
    timer: null,
  };
  pendingInitLogs = '';
  handle.initMs = 0; // reported once, on the first invocation of this worker
  current = invocation;
  if (!initOutcome.ok) {
    // An init error after a crash: the invocation fails with it, the next one retries init.
    worker = null;
    handle.child.kill('SIGKILL');
    return finish(handle, { ok: false, error: initOutcome.error });
  }
  invocation.timer = setTimeout(() => {
    const { logLine, ...error } = timedOut(id);
    finish(handle, { ok: false, error, timedOutLog: logLine });
    // The next invoke gets a fresh worker, never this one: its exit, which comes later, would
    // fail whatever invocation it was running by then.
    if (worker === handle) worker = null;
    handle.child.kill('SIGKILL');
  }, TIMEOUT_MS);
  handle.child.send({
    type: 'invoke',
    id,
    payload: request.payload,
    invokedFunctionArn: request['invoked-function-arn'],
    traceId: request['trace-id'],
    deadlineMs: Date.now() + TIMEOUT_MS,
  });
}

async function finish(handle, outcome) {
  const invocation = current;
  if (!invocation || invocation.worker !== handle || invocation.settled) return;
  invocation.settled = true;
  clearTimeout(invocation.timer);
  current = null;

  let { ok, body, error } = outcome;
  if (ok && Buffer.byteLength(body) > MAX_PAYLOAD_BYTES) {
    ok = false;
    error = {
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size (${Buffer.byteLength(body)} bytes) exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
    };
  }
  const durationMs = performance.now() - invocation.startedAt;
  let report = `REPORT RequestId: ${invocation.id}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(durationMs)} ms\tMemory Size: ${MEMORY_MB} MB\tMax Memory Used: ${outcome.rssMb ?? 0} MB\t`;
  if (invocation.initMs) report += `Init Duration: ${invocation.initMs.toFixed(2)} ms\t`;
  if (outcome.timedOutLog) report += 'Status: timeout';
  let logs = invocation.logs;
  if (outcome.timedOutLog) logs += outcome.timedOutLog;
  else if (!ok) logs += `${new Date().toISOString()}\t${invocation.id}\tERROR\tInvoke Error \t${JSON.stringify(error)}\n`;
  logs += `END RequestId: ${invocation.id}\n${report}\n`;
  process.stdout.write(logs.slice(invocation.logs.length));

  const base = `/invocations/${invocation.id}`;
  try {
    // LocalStack captures the logs when the response or error arrives: logs must land first.
    await post(`${base}/logs`, JSON.stringify({ logs }));
    if (ok) await post(`${base}/response`, body);
    else await post(`${base}/error`, JSON.stringify(error));
  } catch (err) {
    log(`could not report invocation ${invocation.id}: ${err.message}`);
  }
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/invoke') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let request;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('invoke request is not JSON');
      return;
    }
    if (current) {
      res.writeHead(409).end('an invocation is already running in this environment');
      return;
    }
    // Like the Go init: accept at once, answer through the callback endpoint.
    res.writeHead(200).end();
    invoke(request).catch((err) => log(`invoke failed: ${err.stack}`));
  });
});

async function main() {
  const handle = ensureWorker();
  await new Promise((resolve) => server.listen(PORT, '127.0.0.1', resolve));
  const outcome = await handle.ready;
  if (outcome.ok) {
    await post(`/status/${RUNTIME_ID}/ready`, '');
  } else {
    process.stdout.write(pendingInitLogs);
    await post(`/status/${RUNTIME_ID}/error`, JSON.stringify(outcome.error));
  }
}

function shutDown() {
  shuttingDown = true;
  if (worker) worker.child.kill('SIGKILL');
  process.exit(0);
}

process.on('SIGTERM', shutDown);
// LocalStack holds our stdin open and never writes to it: end of file means it has gone.
process.stdin.on('end', shutDown);
process.stdin.resume();

main().catch((err) => {
  log(`startup failed: ${err.stack}`);
  process.exit(1);
});
