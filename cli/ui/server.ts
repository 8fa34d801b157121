/**
 * `fnmesh ui`'s HTTP server: the page and a read-only JSON API on 127.0.0.1 only (node:http).
 *
 * A web page of any other site can make the browser send requests to 127.0.0.1, so every request
 * passes these checks before anything is read:
 *
 * - **Host** must be `127.0.0.1:<port>` or `localhost:<port>`, else 421: a DNS-rebinding page
 *   (evil.example resolved to 127.0.0.1) sends its own name as Host.
 * - **Cross-site fetches** are refused (403): `Sec-Fetch-Site: cross-site | same-site`, or an
 *   `Origin` other than the server's own.
 * - **The session token** (random, 32 bytes, in the printed URL's fragment) is required on every
 *   `/api/` request, as the `X-Fnmesh-Token` header or, for EventSource which cannot set headers,
 *   the `token` query parameter; compared in constant time; else 403.
 * - **No CORS headers** at all, so no other origin may read an answer; only GET and HEAD (405),
 *   but for the one action, `POST /api/dead-letters/<channel>/redrive`, which must also pass
 *   actions.ts's stricter screen (token in the header only, same Origin, JSON body) and is
 *   refused on stages other than `local` unless `allowActions` (`fnmesh ui --allow-actions`).
 * - A strict Content-Security-Policy (scripts and styles from this server only), `nosniff`,
 *   `no-referrer` (the token never leaves in a Referer), `no-store` on the API.
 *
 * `GET /api/topology`: the deployed stack as a graph with live counts (404 if the stack cannot be read).
 *
 * Live updates: `GET /api/events` is a server-sent event stream: per poll, a `status` event when
 * the mesh changed since the last one this stream got (changes.ts), else an `unchanged` event with
 * the read time; one poller serves every open stream and stops when the last one closes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshConfigError } from '../../lib/errors.ts';
import { deadLetterRoute, isAction, screenAction } from './actions.ts';
import { logRoute } from './logs.ts';
import { ChangeFilter } from './changes.ts';
import type { UiData } from './data.ts';
import type { ApiStatus } from './web/types.ts';

/** The page's files, served as they are. */
export interface UiAssets {
  html: string;
  js: string;
  css: string;
}

export interface UiHandlerOptions {
  data: UiData;
  assets: UiAssets;
  /** The session token every API request must carry. */
  token: string;
  /** The Host header values accepted (e.g. `127.0.0.1:4800`); read per request, as the port is known only once listening. */
  allowedHosts: () => ReadonlySet<string>;
  /** Between the end of one status read and the start of the next, for the event stream. @default 1000 */
  pollMs?: number;
  /** Allow the redrive action on a stage other than `local` (`fnmesh ui --allow-actions`). @default false */
  allowActions?: boolean;
}

export interface UiServerOptions extends Omit<UiHandlerOptions, 'token' | 'allowedHosts'> {
  /** @default 0: a free port */
  port?: number;
  /** @default a random 32-byte token, base64url */
  token?: string;
}

export interface UiServer {
  /** The URL to open: `http://127.0.0.1:<port>/#token=<token>`. */
  url: string;
  port: number;
  token: string;
  /** Ends the event streams and the poller, and closes the server. */
  close(): Promise<void>;
}

/** At most this many runs in the recent-runs list. */
const MAX_TRACES = 500;
const TOKEN_HEADER = 'x-fnmesh-token';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
} as const;

/** A fresh session token: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, document: unknown, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(document), { 'Cache-Control': 'no-store', ...extra });
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { status, message } });
}

/** Why a request must be refused before routing (status and message), or undefined if it may go on. */
function screen(req: IncomingMessage, url: URL, options: UiHandlerOptions): [number, string] | undefined {
  const host = req.headers.host;
  if (!host || !options.allowedHosts().has(host.toLowerCase())) return [421, 'unexpected Host header'];
  const action = isAction(req.method, url.pathname);
  if (req.method !== 'GET' && req.method !== 'HEAD' && !action) return [405, 'read-only: GET and HEAD only'];
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return [403, 'cross-site request refused'];
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return [403, 'cross-origin request refused'];
  if (url.pathname.startsWith('/api/')) {
    const header = req.headers[TOKEN_HEADER];
    // An action takes the token from the header only.
    const given = typeof header === 'string' ? header : action ? undefined : (url.searchParams.get('token') ?? undefined);
    if (!tokenMatches(given, options.token)) return [403, 'missing or wrong session token'];
  }
  return action ? screenAction(req, host) : undefined;
}

/** One status poller shared by every open event stream: reads while at least one listens. */
class StatusPoller {
  private readonly listeners = new Set<(event: string, data: unknown) => void>();
  private running = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;

  constructor(
    private readonly data: UiData,
    private readonly pollMs: number,
  ) {}

  subscribe(listener: (event: string, data: unknown) => void): () => void {
    this.listeners.add(listener);
    if (!this.running) void this.loop();
    else this.wake?.();
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    this.listeners.clear();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.listeners.size > 0 && !this.stopped) {
        let event = 'status';
        let payload: ApiStatus | { message: string };
        try {
          payload = await this.data.status({ signal: this.abort.signal });
        } catch (err) {
          event = 'problem';
          payload = { message: `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}` };
        }
        if (this.stopped) return;
        for (const listener of this.listeners) listener(event, payload);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * The request handler: security screen, then the routes. Exposed apart from the server so that
 * tests drive it on a port of their own.
 */
export function uiRequestHandler(options: UiHandlerOptions): RequestListener & { close(): void } {
  const poller = new StatusPoller(options.data, options.pollMs ?? 1000);
  const streams = new Set<ServerResponse>();
  // Single flight: requests for the same read while one is running share it (a Scan of a large
  // table takes seconds; tabs and reloads must not multiply it). Shared reads are not aborted by
  // one caller leaving; they end with the SDK's own timeouts.
  const inFlight = new Map<string, Promise<unknown>>();
  // Ends every read still running when the server closes.
  const closing = new AbortController();
  const shared = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    const running = inFlight.get(key);
    if (running) return running as Promise<T>;
    const started = read().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    // A read ends when the browser goes away, or after a minute at most.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, closing.signal, AbortSignal.timeout(60_000)]);
    const path = url.pathname;
    if (path === '/api/status') return sendJson(res, 200, await shared('status', () => options.data.status({ signal: closing.signal })));
    if (path === '/api/traces') {
      const asked = Number(url.searchParams.get('limit') ?? 50);
      const limit = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_TRACES) : 50;
      return sendJson(res, 200, { traces: await shared(`traces ${limit}`, () => options.data.traces({ limit, signal: closing.signal })) });
    }
    if (path === '/api/topology') {
      try {
        return sendJson(res, 200, await shared('topology', () => options.data.topology({})));
      } catch (err) {
        if (err instanceof MeshConfigError) return refuse(res, 404, err.message);
        throw err;
      }
    }
    const trace = /^\/api\/traces\/([^/]+)$/.exec(path);
    if (trace) {
      try {
        return sendJson(res, 200, await options.data.trace(decodeURIComponent(trace[1]!), { signal }));
      } catch (err) {
        if (err instanceof MeshConfigError) return refuse(res, 404, err.message);
        throw err;
      }
    }
    const deadLetters = await deadLetterRoute(req, url, {
      deadLetters: options.data.deadLetters,
      stage: options.data.stage,
      allowActions: options.allowActions ?? false,
    });
    if (deadLetters) return sendJson(res, deadLetters.status, deadLetters.document, deadLetters.headers);
    const logLines = await logRoute(url, { logs: options.data.logs, stage: options.data.stage, signal });
    if (logLines) return sendJson(res, logLines.status, logLines.document);
    if (path === '/api/events') {
      res.writeHead(200, {
        ...COMMON_HEADERS,
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      streams.add(res);
      // A full status only when the mesh changed (changes.ts); else its read time alone.
      const news = new ChangeFilter();
      const unsubscribe = poller.subscribe((event, data) => {
        if (event !== 'status') news.reset();
        else if (!news.changed(data as ApiStatus)) event = 'unchanged';
        const body = event === 'unchanged' ? { readAt: (data as ApiStatus).readAt } : data;
        res.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
      });
      req.on('close', () => {
        unsubscribe();
        streams.delete(res);
      });
      return;
    }
    refuse(res, 404, 'no such API');
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refused = screen(req, url, options);
    if (refused) return refuse(res, ...refused);
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err: Error) => {
        if (res.headersSent) res.end();
        else sendJson(res, 500, { error: { status: 500, message: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}` } });
      });
      return;
    }
    const page = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-cache' };
    if (url.pathname === '/' || url.pathname === '/index.html')
      return send(res, 200, 'text/html; charset=utf-8', options.assets.html, page);
    if (url.pathname === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', options.assets.js, page);
    if (url.pathname === '/app.css') return send(res, 200, 'text/css; charset=utf-8', options.assets.css, page);
    refuse(res, 404, 'not found');
  };

  return Object.assign(handler, {
    close() {
      poller.stop();
      closing.abort();
      options.data.close?.();
      for (const stream of streams) stream.end();
      streams.clear();
    },
  });
}

/** The Host header values a browser sends for 127.0.0.1:`port`. */
export function loopbackHosts(port: number): ReadonlySet<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

/**
 * Starts the UI's server on 127.0.0.1 (never another interface).
 * @throws the listen error (e.g. EADDRINUSE) if the port cannot be had
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = options.token ?? newToken();
  let hosts: ReadonlySet<string> = new Set();
  const handler = uiRequestHandler({ ...options, token, allowedHosts: () => hosts });
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = loopbackHosts(port);
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    async close() {
      handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
