/**
 * `fnmesh ui`'s server without a browser and without a cloud: a fake data source behind the real
 * server on 127.0.0.1, requests sent with node:http so that Host, Origin and Sec-Fetch-Site can
 * be set as another site's page (or a DNS-rebinding one) would make the browser send them.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../lib/errors.ts';
import { loadUiAssets } from '../../cli/ui/assets.ts';
import { summarizeTraces } from '../../cli/ui/traces.ts';
import type { UiData } from '../../cli/ui/data.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import type { ApiStatus, ApiTrace } from '../../cli/ui/web/types.ts';
import { wrongToken } from '../helpers/wrongToken.ts';

const STATUS: ApiStatus = {
  stage: 'test',
  tableName: 'fnmesh-test-mesh',
  readAt: 1,
  channels: [{ name: 'tasks', queued: 3, sent: 5, received: 2, abandoned: 0, closed: false, dlqDepth: 1 }],
  deadLetters: 1,
  locks: [{ name: 'counter', kind: 'mutex', holder: 'worker-1/abc', fence: 7, leaseLeftMs: 4000 }],
  groups: [{ id: 'g1', started: 10, pending: 4, succeeded: 5, failed: 1, firstError: null }],
  waitGroups: [],
  onceKeys: [],
  strict: null,
};

const TRACE: ApiTrace = {
  traceId: 't1',
  startedAt: 1000,
  durationMs: 50,
  hops: [
    {
      hopId: 'h1',
      kind: 'driver',
      name: 'demo squares',
      startedAt: 1000,
      offsetMs: 0,
      durationMs: 50,
      outcome: 'ok',
      parent: null,
      detail: null,
    },
  ],
};

const data: UiData = {
  stage: 'test',
  tableName: 'fnmesh-test-mesh',
  status: async () => STATUS,
  traces: async () => [{ traceId: 't1', name: 'demo squares', startedAt: 1000, durationMs: 50, hops: 1, failed: 0 }],
  trace: async (traceId) => {
    if (traceId !== 't1') throw new MeshConfigError(`no hops were recorded for trace ${traceId}`);
    return TRACE;
  },
  // The Topology route's own tests are in uiTopology.test.ts.
  topology: async () => {
    throw new MeshConfigError('stack fnmesh-test cannot be read');
  },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: UiServer;

/** A GET (or `method`) to the server with exactly these headers (Host defaults to the right one). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, method, headers: { Host: `127.0.0.1:${server.port}`, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The first event of the stream at `path` (then the connection is dropped). */
function firstEvent(path: string): Promise<{ status: number; event: string; data: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { Host: `127.0.0.1:${server.port}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const match = /event: (\w+)\ndata: (.*)\n\n/.exec(text);
        if (match) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, event: match[1]!, data: JSON.parse(match[2]!) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, event: '', data: null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const auth = () => ({ 'X-Fnmesh-Token': server.token });

beforeAll(async () => {
  server = await startUiServer({ data, assets: { html: '<!doctype html><title>t</title>', js: 'export {}', css: 'body{}' }, pollMs: 50 });
});

afterAll(async () => {
  await server?.close();
});

describe('fnmesh ui server', () => {
  it('listens on 127.0.0.1 and prints a URL carrying a long random token in its fragment', () => {
    // Assess
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('answers the API with the token (header or query), on 127.0.0.1 or localhost', async () => {
    // Act
    const status = await get('/api/status', auth());
    const viaQuery = await get(`/api/status?token=${server.token}`);
    const viaLocalhost = await get('/api/traces', { ...auth(), Host: `localhost:${server.port}` });
    const trace = await get('/api/traces/t1', auth());
    // Assess
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toEqual(STATUS);
    expect(status.headers['cache-control']).toBe('no-store');
    expect(viaQuery.status).toBe(200);
    expect(viaLocalhost.status).toBe(200);
    expect(JSON.parse(viaLocalhost.body).traces).toHaveLength(1);
    expect(JSON.parse(trace.body)).toEqual(TRACE);
  });

  it('refuses every API path without the token, or with a wrong one, with 403 and no data', async () => {
    for (const path of ['/api/status', '/api/traces', '/api/traces/t1', '/api/topology', '/api/events', '/api/nothing']) {
      // Act
      const none = await get(path);
      const wrong = await get(path, { 'X-Fnmesh-Token': wrongToken(server.token) });
      const short = await get(`${path}?token=${server.token.slice(0, 10)}`);
      // Assess
      for (const answer of [none, wrong, short]) {
        expect(answer.status).toBe(403);
        expect(answer.body).not.toContain('counter');
      }
    }
  });

  it('refuses a Host other than its own (DNS rebinding) with 421, even with the token', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${server.port}`,
      '127.0.0.1',
      `127.0.0.1:${server.port + 1}`,
      `[::1]:${server.port}`,
    ]) {
      // Act
      const api = await get('/api/status', { ...auth(), Host: host });
      const page = await get('/', { Host: host });
      // Assess
      expect(api.status).toBe(421);
      expect(page.status).toBe(421);
      expect(api.body).not.toContain('counter');
    }
  });

  it('refuses cross-site requests (Origin of another site, Sec-Fetch-Site cross-site or same-site) with 403, even with the token', async () => {
    // Act
    const answers = await Promise.all([
      get('/api/status', { ...auth(), Origin: 'https://evil.example' }),
      get('/api/status', { ...auth(), Origin: 'null' }),
      get('/api/status', { ...auth(), 'Sec-Fetch-Site': 'cross-site' }),
      get('/api/status', { ...auth(), 'Sec-Fetch-Site': 'same-site' }),
      get('/', { 'Sec-Fetch-Site': 'cross-site' }),
    ]);
    const sameOrigin = await get('/api/status', { ...auth(), Origin: `http://127.0.0.1:${server.port}`, 'Sec-Fetch-Site': 'same-origin' });
    // Assess
    for (const answer of answers) expect(answer.status).toBe(403);
    expect(sameOrigin.status).toBe(200);
  });

  it('sends no CORS header on any answer, not even to a preflight', async () => {
    // Act
    const answers = await Promise.all([
      get('/'),
      get('/app.js'),
      get('/api/status', auth()),
      get('/api/status', { ...auth(), Origin: 'https://evil.example' }),
      get('/api/status'),
      get('/api/status', { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' }, 'OPTIONS'),
    ]);
    // Assess
    for (const answer of answers) for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
  });

  it('is read-only: any method but GET and HEAD gets 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      // Act
      const answer = await get('/api/status', auth(), method);
      // Assess
      expect(answer.status).toBe(405);
    }
  });

  it('serves the page with a strict Content-Security-Policy, nosniff and no-referrer', async () => {
    // Act
    const page = await get('/');
    // Assess
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });

  it('answers 404 for an unknown trace and an unknown path', async () => {
    // Act
    const trace = await get('/api/traces/nope', auth());
    const path = await get('/etc/passwd');
    // Assess
    expect(trace.status).toBe(404);
    expect(JSON.parse(trace.body).error.message).toContain('nope');
    expect(path.status).toBe(404);
  });

  it('streams the status as server-sent events to a holder of the token', async () => {
    // Act
    const event = await firstEvent(`/api/events?token=${server.token}`);
    // Assess
    expect(event.status).toBe(200);
    expect(event.event).toBe('status');
    expect(event.data).toEqual(STATUS);
  });
});

describe('fnmesh ui server, on a slow table', () => {
  it('shares one read among concurrent requests for it (single flight), and reads again afterwards', async () => {
    // Prepare
    let reads = 0;
    const slow: UiData = {
      ...data,
      traces: async () => {
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return [];
      },
    };
    const own = await startUiServer({ data: slow, assets: { html: '', js: '', css: '' } });
    const ask = () =>
      fetch(`http://127.0.0.1:${own.port}/api/traces`, { headers: { 'X-Fnmesh-Token': own.token } }).then((answer) => answer.status);
    try {
      // Act
      const concurrent = await Promise.all([ask(), ask(), ask()]);
      const readsThen = reads;
      await ask();
      // Assess
      expect(concurrent).toEqual([200, 200, 200]);
      expect(readsThen).toBe(1);
      expect(reads).toBe(2);
    } finally {
      await own.close();
    }
  });
});

/** The first `count` events of a stream of `own` server (then the connection is dropped). */
function events(own: UiServer, count: number): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: own.port, path: `/api/events?token=${own.token}`, headers: { Host: `127.0.0.1:${own.port}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          const found = [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
          if (found.length >= count) {
            req.destroy();
            resolve(found.slice(0, count));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('fnmesh ui server, event stream', () => {
  it('sends a status event only when the mesh changed: a lease counting down is no change, a renewal or a count is one', async () => {
    // Prepare: reads 1–3 see the same mesh (the lease's end fixed, so its time left shrinks as
    // readAt grows); read 4 a renewed lease; read 5 a new count; read 6 the same as 5; 7 a failed read; 8 as 6.
    let reads = 0;
    const leaseEnd = 100_000;
    const read = (readAt: number, leaseUntil: number, queued: number): ApiStatus => ({
      ...STATUS,
      readAt,
      channels: [{ ...STATUS.channels[0]!, queued }],
      locks: [{ ...STATUS.locks[0]!, leaseLeftMs: leaseUntil - readAt }],
    });
    const script: (() => ApiStatus)[] = [
      () => read(1000, leaseEnd, 3),
      () => read(2000, leaseEnd, 3),
      () => read(3000, leaseEnd, 3),
      () => read(4000, leaseEnd + 5000, 3),
      () => read(5000, leaseEnd + 5000, 4),
      () => read(6000, leaseEnd + 5000, 4),
      () => {
        throw new Error('throttled');
      },
      () => read(8000, leaseEnd + 5000, 4),
    ];
    const changing: UiData = { ...data, status: async () => script[Math.min(reads++, script.length - 1)]!() };
    const own = await startUiServer({ data: changing, assets: { html: '', js: '', css: '' }, pollMs: 10 });
    try {
      // Act
      const got = await events(own, 8);
      // Assess
      expect(got.map((e) => e.event)).toEqual(['status', 'unchanged', 'unchanged', 'status', 'status', 'unchanged', 'problem', 'status']);
      expect(got[1]!.data).toEqual({ readAt: 2000 });
      expect(got[3]!.data.locks[0].leaseLeftMs).toBe(leaseEnd + 5000 - 4000);
      expect(got[4]!.data.channels[0].queued).toBe(4);
    } finally {
      await own.close();
    }
  });

  it('tells "unchanged" from an expired lease that stays expired, and a new document to each new stream', async () => {
    // Prepare: the lease ran out before the first read (0 left at every read).
    const expired: UiData = {
      ...data,
      status: async () => ({ ...STATUS, readAt: Date.now(), locks: [{ ...STATUS.locks[0]!, leaseLeftMs: 0 }] }),
    };
    const own = await startUiServer({ data: expired, assets: { html: '', js: '', css: '' }, pollMs: 10 });
    try {
      // Act
      const first = await events(own, 3);
      const second = await events(own, 1);
      // Assess
      expect(first.map((e) => e.event)).toEqual(['status', 'unchanged', 'unchanged']);
      expect(second.map((e) => e.event)).toEqual(['status']);
    } finally {
      await own.close();
    }
  });
});

describe('summarizeTraces', () => {
  it('sums hops up per trace, names a run by its driver, newest first', () => {
    // Prepare
    const hop = (traceId: string, kind: string, name: string, startedAt: number, endedAt: number, outcome = 'ok') => ({
      pk: { S: `trace#${traceId}` },
      kind: { S: kind },
      name: { S: name },
      startedAt: { N: String(startedAt) },
      endedAt: { N: String(endedAt) },
      outcome: { S: outcome },
    });
    // Act
    const summaries = summarizeTraces(
      [
        hop('a', 'function', 'square', 110, 150, 'Error'),
        hop('a', 'driver', 'demo squares', 100, 200),
        hop('b', 'function', 'ping', 300, 310),
        { pk: { S: 'mutex#x' }, sk: { S: 'lock' } },
      ],
      10,
    );
    // Assess
    expect(summaries).toEqual([
      { traceId: 'b', name: 'ping', startedAt: 300, durationMs: 10, hops: 1, failed: 0 },
      { traceId: 'a', name: 'demo squares', startedAt: 100, durationMs: 100, hops: 2, failed: 1 },
    ]);
    expect(summarizeTraces([hop('a', 'driver', 'x', 1, 2), hop('b', 'driver', 'y', 3, 4)], 1).map((s) => s.traceId)).toEqual(['b']);
  });
});

describe('loadUiAssets', () => {
  it('bundles the page offline: one script with Preact inside, no URL of another host', async () => {
    // Act
    const assets = await loadUiAssets();
    // Assess
    expect(assets.html).toContain('src="/app.js"');
    expect(assets.html).toContain('href="/app.css"');
    expect(assets.js.length).toBeGreaterThan(5_000);
    expect(assets.js).not.toMatch(/from\s*["']preact|\bimport\s*\(/);
    expect(`${assets.html}${assets.js}${assets.css}`).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost|www\.w3\.org)/);
    expect(assets.css).toContain('prefers-color-scheme: dark');
  });
});

describe('fnmesh ui (the command)', () => {
  /** `fnmesh --json ui` as a child process: its first stdout line (the JSON document) and its exit code. */
  function startUi(env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'fnmesh.js'), '--json', 'ui'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const firstLine = new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) resolve(text.split('\n')[0]!);
      });
      child.on('exit', (code) => reject(new Error(`fnmesh ui exited early (${code})`)));
    });
    return { child, exited, firstLine };
  }

  it('prints one JSON document with the URL, serves the page there, and ends on SIGINT with exit 0', async () => {
    // Prepare
    const { child, exited, firstLine } = startUi();
    try {
      // Act
      const line = await firstLine;
      const document = JSON.parse(line) as { url: string; port: number; stage: string };
      const page = await fetch(document.url);
      const refused = await fetch(new URL('/api/status', document.url));
      child.kill('SIGINT');
      // Assess
      expect(document.stage).toBe('local');
      expect(document.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${document.port}/#token=[\\w-]{43}$`));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/app.js');
      expect(refused.status).toBe(403);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('ends on SIGINT with an event stream open while every read of the cloud hangs (nothing in flight holds the process)', async () => {
    // Prepare: a "LocalStack" that accepts connections and never answers, so each read hangs
    // (the SDK has no request timeout of its own) until the server aborts it.
    const hung = new Set<Socket>();
    const silent = createNetServer((socket) => {
      hung.add(socket);
      socket.on('close', () => hung.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { child, exited, firstLine } = startUi({ FNMESH_LOCALSTACK_PORT: String((silent.address() as AddressInfo).port) });
    const stream = new AbortController();
    try {
      const line = await firstLine;
      const { url } = JSON.parse(line) as { url: string };
      const token = new URL(url).hash.replace('#token=', '');
      const events = await fetch(new URL(`/api/events?token=${token}`, url), { signal: stream.signal });
      const reader = events.body!.getReader();
      const opening = new TextDecoder().decode((await reader.read()).value);
      // The first status read is under way: its calls wait on the silent endpoint.
      await expect.poll(() => hung.size, { timeout: 10_000 }).toBeGreaterThan(0);
      // Act
      child.kill('SIGINT');
      const code = await exited;
      let ended = false;
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break;
      ended = true;
      // Assess
      expect(opening).toContain('retry:');
      expect(code).toBe(0);
      expect(ended).toBe(true);
    } finally {
      stream.abort();
      child.kill('SIGKILL');
      for (const socket of hung) socket.destroy();
      silent.close();
    }
  }, 30_000);
});
