/**
 * The one state-changing route of `fnmesh ui`, `POST /api/dead-letters/<channel>/redrive`, and
 * the dead-letter reads, without a browser and without a cloud: a fake data source that counts the
 * redrives it is asked for, behind the real server on 127.0.0.1. Each request is what another
 * site's page, a form, or a careless link could make a browser send; none may redrive anything.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../lib/errors.ts';
import { parseRedriveRequest, redrivePolicy } from '../../cli/ui/actions.ts';
import type { UiData } from '../../cli/ui/data.ts';
import type { UiDeadLetters } from '../../cli/ui/deadLetters.ts';
import { startUiServer, type UiServer } from '../../cli/ui/server.ts';
import type { ApiDeadLetterQueues, ApiDeadLetters, ApiRedrive } from '../../cli/ui/web/types.ts';
import { wrongToken } from '../helpers/wrongToken.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A fake stage with one dead letter on ping; records every redrive and peek it is asked for. */
function fakeData(stage: string) {
  const redrives: { channel: string; messageIds: readonly string[] | undefined }[] = [];
  const peeks: { channel: string; max: number }[] = [];
  const deadLetters: UiDeadLetters = {
    queues: () => [{ channel: 'ping', queue: `fnmesh-${stage}-ping`, deadLetterQueue: `fnmesh-${stage}-ping-dlq`, shared: false }],
    async list(channel, { max }) {
      if (channel !== 'ping') throw new MeshConfigError(`unknown channel "${channel}": the stack's channels are ping`);
      peeks.push({ channel, max });
      const document: ApiDeadLetters = {
        channel,
        queue: `fnmesh-${stage}-ping`,
        deadLetterQueue: `fnmesh-${stage}-ping-dlq`,
        readAt: 1,
        max,
        messages: [{ messageId: 'm1', receiveCount: 2, reason: 'handler failed', source: 'ping', envelope: null, body: 'x' }],
      };
      return document;
    },
    async redrive(channel, { messageIds }) {
      if (channel !== 'ping') throw new MeshConfigError(`unknown channel "${channel}": the stack's channels are ping`);
      redrives.push({ channel, messageIds });
      const document: ApiRedrive = {
        channel,
        queue: `fnmesh-${stage}-ping`,
        deadLetterQueue: `fnmesh-${stage}-ping-dlq`,
        moved: 1,
        failed: 0,
        skipped: 0,
        duplicated: 0,
        failures: [],
        notFound: [],
        durationMs: 5,
      };
      return document;
    },
  };
  const data: UiData = {
    stage,
    tableName: `fnmesh-${stage}-mesh`,
    status: async () => {
      throw new Error('not used');
    },
    traces: async () => [],
    topology: async () => {
      throw new Error('not used');
    },
    trace: async () => {
      throw new MeshConfigError('no such trace');
    },
    deadLetters,
  };
  return { data, redrives, peeks };
}

const servers: UiServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(stage: string, allowActions?: boolean) {
  const fake = fakeData(stage);
  const server = await startUiServer({
    data: fake.data,
    assets: { html: '<!doctype html><title>t</title>', js: 'export {}', css: 'body{}' },
    ...(allowActions !== undefined ? { allowActions } : {}),
  });
  servers.push(server);
  const origin = `http://127.0.0.1:${server.port}`;
  /** A request with exactly these headers (Host is the server's own) and body. */
  const send = (method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method,
          headers: {
            Host: `127.0.0.1:${server.port}`,
            ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  /** What the page's fetch sends for a redrive: the headers a same-origin POST carries in Chromium. */
  const pageHeaders = () => ({
    'X-Fnmesh-Token': server.token,
    Origin: origin,
    'Sec-Fetch-Site': 'same-origin',
    'Content-Type': 'application/json',
  });
  return { ...fake, server, origin, send, pageHeaders };
}

const ALL = JSON.stringify({ all: true });
const REDRIVE = '/api/dead-letters/ping/redrive';

describe('POST /api/dead-letters/<channel>/redrive', () => {
  it('redrives when the page asks as a same-origin JSON request with the token in its header, on stage local', async () => {
    // Prepare
    const { send, pageHeaders, redrives } = await serve('local');
    // Act
    const all = await send('POST', REDRIVE, pageHeaders(), ALL);
    const some = await send(
      'POST',
      REDRIVE,
      { ...pageHeaders(), 'Content-Type': 'application/json; charset=utf-8' },
      '{"messageIds":["m1","m1"]}',
    );
    // Assess
    expect(all.status).toBe(200);
    expect(JSON.parse(all.body)).toMatchObject({ channel: 'ping', moved: 1, failures: [], notFound: [] });
    expect(some.status).toBe(200);
    expect(redrives).toEqual([
      { channel: 'ping', messageIds: undefined },
      { channel: 'ping', messageIds: ['m1'] },
    ]);
    for (const answer of [all, some]) for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
  });

  it('also without Sec-Fetch-Site (a browser that does not send it), and on another stage with --allow-actions', async () => {
    // Prepare
    const local = await serve('local');
    const dev = await serve('dev', true);
    const { 'Sec-Fetch-Site': _site, ...withoutSite } = local.pageHeaders();
    // Act
    const noSite = await local.send('POST', REDRIVE, withoutSite, ALL);
    const allowed = await dev.send('POST', REDRIVE, dev.pageHeaders(), ALL);
    // Assess
    expect(noSite.status).toBe(200);
    expect(allowed.status).toBe(200);
    expect(local.redrives).toHaveLength(1);
    expect(dev.redrives).toHaveLength(1);
  });

  it('refuses every request that is not exactly that, and redrives nothing', async () => {
    // Prepare
    const { send, pageHeaders, server, redrives } = await serve('local');
    const { 'X-Fnmesh-Token': _token, ...noToken } = pageHeaders();
    const { Origin: _origin, ...noOrigin } = pageHeaders();
    const cases: [string, Promise<Answer>, number][] = [
      ['no token', send('POST', REDRIVE, noToken, ALL), 403],
      ['a wrong token', send('POST', REDRIVE, { ...pageHeaders(), 'X-Fnmesh-Token': wrongToken(server.token) }, ALL), 403],
      ['the token in the query only', send('POST', `${REDRIVE}?token=${server.token}`, noToken, ALL), 403],
      ['no Origin', send('POST', REDRIVE, noOrigin, ALL), 403],
      ['another origin', send('POST', REDRIVE, { ...pageHeaders(), Origin: 'https://evil.example' }, ALL), 403],
      ['another port of this machine', send('POST', REDRIVE, { ...pageHeaders(), Origin: 'http://127.0.0.1:1' }, ALL), 403],
      ['Origin null (a sandboxed frame)', send('POST', REDRIVE, { ...pageHeaders(), Origin: 'null' }, ALL), 403],
      ['a cross-site fetch', send('POST', REDRIVE, { ...pageHeaders(), 'Sec-Fetch-Site': 'cross-site' }, ALL), 403],
      ['a same-site fetch', send('POST', REDRIVE, { ...pageHeaders(), 'Sec-Fetch-Site': 'same-site' }, ALL), 403],
      ['a navigation (Sec-Fetch-Site none)', send('POST', REDRIVE, { ...pageHeaders(), 'Sec-Fetch-Site': 'none' }, ALL), 403],
      [
        'a form post (urlencoded)',
        send('POST', REDRIVE, { ...pageHeaders(), 'Content-Type': 'application/x-www-form-urlencoded' }, 'all=true'),
        415,
      ],
      ['a form post (text/plain)', send('POST', REDRIVE, { ...pageHeaders(), 'Content-Type': 'text/plain' }, ALL), 415],
      ['a form post (multipart)', send('POST', REDRIVE, { ...pageHeaders(), 'Content-Type': 'multipart/form-data; boundary=x' }, ALL), 415],
      ['no content type', send('POST', REDRIVE, { ...pageHeaders(), 'Content-Type': '' }, ALL), 415],
      ['GET on the route', send('GET', REDRIVE, pageHeaders()), 405],
      ['PUT on the route', send('PUT', REDRIVE, pageHeaders(), ALL), 405],
      ['DELETE on the route', send('DELETE', REDRIVE, pageHeaders()), 405],
      ['a preflight (OPTIONS)', send('OPTIONS', REDRIVE, { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' }), 405],
      ['POST on another API', send('POST', '/api/dead-letters/ping', pageHeaders(), ALL), 405],
      ['a wrong Host (DNS rebinding)', send('POST', REDRIVE, { ...pageHeaders(), Host: 'evil.example' }, ALL), 421],
      ['a body that is not JSON', send('POST', REDRIVE, pageHeaders(), 'all'), 400],
      ['an empty body', send('POST', REDRIVE, pageHeaders(), ''), 400],
      ['all: false', send('POST', REDRIVE, pageHeaders(), '{"all":false}'), 400],
      ['no ids', send('POST', REDRIVE, pageHeaders(), '{"messageIds":[]}'), 400],
      ['an id that is not a string', send('POST', REDRIVE, pageHeaders(), '{"messageIds":[1]}'), 400],
      ['both all and ids', send('POST', REDRIVE, pageHeaders(), '{"all":true,"messageIds":["m1"]}'), 400],
      ['a body over 64 KiB', send('POST', REDRIVE, pageHeaders(), JSON.stringify({ messageIds: ['x'.repeat(70_000)] })), 413],
      ['an unknown channel', send('POST', '/api/dead-letters/nope/redrive', pageHeaders(), ALL), 404],
    ];
    // Act
    const answers = await Promise.all(cases.map(([, answer]) => answer));
    // Assess
    answers.forEach((answer, index) => {
      const [what, , status] = cases[index]!;
      expect({ what, status: answer.status }).toEqual({ what, status });
      expect(JSON.parse(answer.body)).toEqual({ error: { status, message: expect.any(String) } });
      for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
    });
    expect(redrives).toEqual([]);
  });

  it('is refused on a stage other than local without --allow-actions, and says so', async () => {
    // Prepare
    const dev = await serve('dev');
    const prod = await serve('prod', false);
    // Act
    const refused = await dev.send('POST', REDRIVE, dev.pageHeaders(), ALL);
    const refusedToo = await prod.send('POST', REDRIVE, prod.pageHeaders(), '{"messageIds":["m1"]}');
    const policy = JSON.parse(
      (await dev.send('GET', '/api/dead-letters', { 'X-Fnmesh-Token': dev.server.token })).body,
    ) as ApiDeadLetterQueues;
    // Assess
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.message).toMatch(/read-only on stage dev: start fnmesh ui with --allow-actions/);
    expect(refusedToo.status).toBe(403);
    expect(dev.redrives).toEqual([]);
    expect(prod.redrives).toEqual([]);
    expect(policy.redrive).toEqual({ allowed: false, reason: expect.stringMatching(/--allow-actions/) });
    expect(policy.queues.map((queue) => queue.channel)).toEqual(['ping']);
  });
});

describe('GET /api/dead-letters', () => {
  it('lists the channels and the redrive policy; peeks at a channel only when asked, with max bounded', async () => {
    // Prepare
    const { send, server, peeks } = await serve('local');
    const token = { 'X-Fnmesh-Token': server.token };
    // Act
    const queues = await send('GET', '/api/dead-letters', token);
    const peeksBefore = peeks.length;
    const listed = await send('GET', '/api/dead-letters/ping?max=5', token);
    const capped = await send('GET', '/api/dead-letters/ping?max=100000', token);
    const silly = await send('GET', '/api/dead-letters/ping?max=-3', token);
    const unknown = await send('GET', '/api/dead-letters/nope', token);
    const noToken = await send('GET', '/api/dead-letters/ping', {});
    // Assess
    expect(queues.status).toBe(200);
    expect(JSON.parse(queues.body)).toEqual({
      queues: [{ channel: 'ping', queue: 'fnmesh-local-ping', deadLetterQueue: 'fnmesh-local-ping-dlq', shared: false }],
      redrive: { allowed: true, reason: null },
    });
    expect(peeksBefore).toBe(0);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toMatchObject({ channel: 'ping', max: 5, messages: [{ messageId: 'm1', reason: 'handler failed' }] });
    expect(capped.status).toBe(200);
    expect(silly.status).toBe(200);
    expect(peeks).toEqual([
      { channel: 'ping', max: 5 },
      { channel: 'ping', max: 100 },
      { channel: 'ping', max: 10 },
    ]);
    expect(unknown.status).toBe(404);
    expect(noToken.status).toBe(403);
  });

  it('answers 404 on a data source without dead letters', async () => {
    // Prepare
    const { data } = fakeData('local');
    const { deadLetters: _unused, ...withoutDeadLetters } = data;
    const server = await startUiServer({ data: withoutDeadLetters, assets: { html: '', js: '', css: '' } });
    servers.push(server);
    // Act
    const answer = await new Promise<number>((resolve, reject) =>
      request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/dead-letters',
          headers: { Host: `127.0.0.1:${server.port}`, 'X-Fnmesh-Token': server.token },
        },
        (res) => resolve(res.statusCode ?? 0),
      )
        .on('error', reject)
        .end(),
    );
    // Assess
    expect(answer).toBe(404);
  });
});

describe('the redrive request and policy', () => {
  it('parses {"all": true} and {"messageIds": [...]}, dropping repeated ids', () => {
    expect(parseRedriveRequest('{"all":true}')).toEqual({});
    expect(parseRedriveRequest('{"messageIds":["a","b","a"]}')).toEqual({ messageIds: ['a', 'b'] });
  });

  it('refuses anything else with a MeshConfigError', () => {
    for (const body of [
      '',
      'null',
      '[]',
      '"all"',
      '{}',
      '{"all":"yes"}',
      '{"messageIds":"a"}',
      '{"messageIds":[""]}',
      '{"all":true,"x":1}',
    ])
      expect(() => parseRedriveRequest(body), body).toThrow(MeshConfigError);
    expect(() => parseRedriveRequest(JSON.stringify({ messageIds: Array.from({ length: 1001 }, (_, i) => `m${i}`) }))).toThrow(
      MeshConfigError,
    );
  });

  it('allows redrive on local, elsewhere only when the user opted in', () => {
    expect(redrivePolicy('local', false)).toEqual({ allowed: true, reason: null });
    expect(redrivePolicy('dev', true)).toEqual({ allowed: true, reason: null });
    expect(redrivePolicy('dev', false)).toEqual({ allowed: false, reason: expect.stringContaining('--allow-actions') });
  });
});
