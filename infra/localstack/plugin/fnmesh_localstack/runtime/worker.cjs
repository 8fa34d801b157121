'use strict';
// fnmesh runtime shim, worker side: loads the user's handler the way the AWS Node.js runtime
// does and runs one invocation at a time for the supervisor (supervisor.cjs).
//
// All output goes to the supervisor over IPC, in order with the result, so each invocation's
// logs are complete when its response is posted. console.* lines are formatted as the AWS
// runtime formats them: `<ISO time>\t<request id>\t<LEVEL>\t<message>`.
//
// Like AWS's runtime it also provides the `awslambda` global (response streaming) and lets ES
// modules find packages on NODE_PATH (node-path-hooks.mjs), where the runtime's AWS SDK is.

const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { Writable } = require('node:stream');
const { pathToFileURL } = require('node:url');
const nodeModule = require('node:module');

if (typeof nodeModule.register === 'function') {
  nodeModule.register(pathToFileURL(path.join(__dirname, 'node-path-hooks.mjs')));
}

let requestId = undefined;

function emit(text) {
  if (process.connected) process.send({ type: 'log', text });
}

for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    emit(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

const LEVELS = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(LEVELS)) {
  console[method] = (...args) => {
    const message = util.format(...args).replace(/\n/g, '\r');
    emit(`${new Date().toISOString()}\t${requestId ?? 'undefined'}\t${level}\t${message}\n`);
  };
}

function toErrorBody(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// --- the awslambda global: response streaming --------------------------------------------------

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
// Between an HTTP response's metadata (status, headers, cookies) and its body, as on AWS's wire.
const PRELUDE_DELIMITER = Buffer.alloc(8);

/** What a streaming handler writes to: everything is collected and sent as one response. */
class ResponseStream extends Writable {
  constructor() {
    super();
    this.chunks = [];
    this.contentType = 'application/octet-stream';
  }
  _write(chunk, encoding, done) {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
    done();
  }
  setContentType(contentType) {
    this.contentType = contentType;
  }
  body() {
    return Buffer.concat(this.chunks);
  }
}

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[STREAMING] = 'response';
    if (options) handler.streamingOptions = options;
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    /** Writes the HTTP metadata a function URL answers with, ahead of the body. */
    static from(responseStream, prelude) {
      responseStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
      responseStream.chunks.unshift(Buffer.from(JSON.stringify(prelude ?? {})), PRELUDE_DELIMITER);
      return responseStream;
    }
  },
};

/** Runs a streamified handler; settles with the bytes it streamed once it ends the stream. */
function callStreamingHandler(handler, event, context) {
  const stream = new ResponseStream();
  const finished = new Promise((resolve, reject) => {
    stream.on('finish', () => resolve(stream.body()));
    stream.on('error', reject);
  });
  return new Promise((resolve, reject) => {
    finished.then(resolve, reject);
    let returned;
    try {
      returned = handler(event, stream, context);
    } catch (err) {
      reject(err);
      return;
    }
    // A handler that returns without ending its stream has said all it will: end it for it.
    Promise.resolve(returned).then(() => {
      if (!stream.writableEnded) stream.end();
    }, reject);
  });
}

// --- handler resolution (as the AWS Node.js runtime's UserFunction does) -------------------------

function splitHandlerString(handlerString) {
  if (!handlerString) throw new RuntimeError('Runtime.MalformedHandlerName', 'Handler is not set (_HANDLER is empty).');
  if (handlerString.includes('..')) {
    throw new RuntimeError(
      'Runtime.MalformedHandlerName',
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(handlerString);
  const dir = handlerString.slice(0, handlerString.length - base.length);
  const dot = base.indexOf('.');
  if (dot < 1 || dot === base.length - 1) {
    throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerString}`);
  }
  return { moduleRoot: dir, moduleName: base.slice(0, dot), exportPath: base.slice(dot + 1) };
}

function findModuleFile(taskRoot, moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  for (const extension of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(base + extension)) return base + extension;
  }
  try {
    return require.resolve(base); // extensionless file or a directory with an index
  } catch {
    throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'\nRequire stack:\n- ${__filename}`);
  }
}

async function loadHandler() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const { moduleRoot, moduleName, exportPath } = splitHandlerString(process.env._HANDLER);
  const file = findModuleFile(taskRoot, moduleRoot, moduleName);
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`);
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') throw new RuntimeError('Runtime.ImportModuleError', `Error: ${err.message}`);
    throw err;
  }
  const resolve = (root) => exportPath.split('.').reduce((value, key) => (value == null ? undefined : value[key]), root);
  const handler = resolve(mod) ?? resolve(mod.default);
  if (handler === undefined) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is not a function`);
  }
  return handler;
}

// --- invocation -----------------------------------------------------------------------------------

function buildContext(message) {
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.id,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
}

function callHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    context.done = callback;
    context.succeed = (result) => resolve(result);
    context.fail = (err) => reject(err ?? new Error('handled'));
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (err) {
      reject(err);
      return;
    }
    if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
    else if (handler.length < 3) resolve(returned); // neither a promise nor a callback handler
  });
}

function rssMb() {
  return Math.round(process.memoryUsage().rss / (1024 * 1024));
}

async function runInvocation(handler, message) {
  requestId = message.id;
  process.env._X_AMZN_TRACE_ID = message.traceId ?? '';
  let event;
  try {
    event = JSON.parse(message.payload);
  } catch (err) {
    process.send({
      type: 'error',
      error: toErrorBody(new RuntimeError('Runtime.UnmarshalError', `Unable to parse the event as JSON: ${err.message}`)),
      rssMb: rssMb(),
    });
    return;
  }
  try {
    if (handler[STREAMING] === 'response') {
      const streamed = await callStreamingHandler(handler, event, buildContext(message));
      process.send({ type: 'result', bodyBase64: streamed.toString('base64'), rssMb: rssMb() });
      return;
    }
    const result = await callHandler(handler, event, buildContext(message));
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (err) {
      throw new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${err.message}`);
    }
    process.send({ type: 'result', body, rssMb: rssMb() });
  } catch (err) {
    process.send({ type: 'error', error: toErrorBody(err), rssMb: rssMb() });
  } finally {
    requestId = undefined;
  }
}

// An error escaping the handler's promise chain ends the runtime, as in Lambda; the supervisor
// reports the invocation as failed and forks a fresh worker.
function fatal(errorType) {
  return (err) => {
    const body = toErrorBody(err);
    if (errorType) body.errorType = errorType;
    emit(`${new Date().toISOString()}\t${requestId ?? 'undefined'}\tERROR\t${JSON.stringify(body)}\n`);
    if (process.connected) process.send({ type: 'error', error: body, rssMb: rssMb() }, () => process.exit(129));
    else process.exit(129);
  };
}
process.on('uncaughtException', fatal());
process.on('unhandledRejection', fatal('Runtime.UnhandledPromiseRejection'));

loadHandler().then(
  (handler) => {
    process.on('message', (message) => {
      if (message.type === 'invoke') runInvocation(handler, message);
    });
    process.send({ type: 'ready' });
  },
  (err) => {
    const body = toErrorBody(err);
    emit(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(body)}\n`);
    process.send({ type: 'init-error', error: body }, () => process.exit(1));
  },
);
