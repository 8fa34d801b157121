/**
 * The dead-letter routes of `fnmesh ui`, and the stricter screen of its only state-changing one
 * (issue 16, item 5):
 *
 *   GET  /api/dead-letters                      the channels, and whether redrive is allowed here
 *   GET  /api/dead-letters/<channel>?max=N      a peek at its dead letters (on demand: a peek
 *                                               receives them, so the page never polls this)
 *   POST /api/dead-letters/<channel>/redrive    body {"all":true} or {"messageIds":[…]}
 *
 * The redrive route passes the server's common screen (Host, cross-site, token: server.ts) and,
 * being a write, also: the token only in the `X-Fnmesh-Token` header (never the query, which
 * can leak through history or logs); an `Origin` header that is present and the server's own;
 * `Sec-Fetch-Site: same-origin` when the browser sends the header; `Content-Type:
 * application/json` (an HTML form can only send urlencoded, multipart or text/plain, and a
 * cross-origin fetch with JSON needs a preflight this server never answers with CORS); a body of
 * at most 64 KiB. On a stage other than `local` it is refused unless `fnmesh ui --allow-actions`
 * was given: read-only on AWS unless the user opts in.
 */
import type { IncomingMessage } from 'node:http';
import { MeshConfigError } from '../../lib/errors.ts';
import type { UiDeadLetters } from './deadLetters.ts';
import type { ApiDeadLetterQueues } from './web/types.ts';

/** The redrive route: `/api/dead-letters/<channel>/redrive`. */
const REDRIVE_PATH = /^\/api\/dead-letters\/([^/]+)\/redrive$/;
const LIST_PATH = /^\/api\/dead-letters\/([^/]+)$/;
/** A peek reads at most this many (and 10 by default, as `fnmesh dlq list`). */
export const MAX_PEEK = 100;
const MAX_BODY_BYTES = 65_536;
/** At most this many ids in one redrive request. */
const MAX_IDS = 1000;

/** Whether this request is the UI's one state-changing action (which the common screen lets through). */
export function isAction(method: string | undefined, pathname: string): boolean {
  return method === 'POST' && REDRIVE_PATH.test(pathname);
}

/** The stricter checks of a state-changing request, after the common ones: [status, why], or undefined to go on. */
export function screenAction(req: IncomingMessage, host: string): [number, string] | undefined {
  if (req.headers.origin !== `http://${host}`) return [403, 'an action needs the Origin header of this page'];
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return [403, 'an action must come from this page (Sec-Fetch-Site)'];
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return [415, 'an action takes Content-Type: application/json'];
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_BODY_BYTES) return [413, `an action's body is at most ${MAX_BODY_BYTES} bytes`];
  return undefined;
}

/** Whether redrive is allowed on `stage`: always on `local`, elsewhere only with --allow-actions. */
export function redrivePolicy(stage: string, allowActions: boolean): ApiDeadLetterQueues['redrive'] {
  if (stage === 'local' || allowActions) return { allowed: true, reason: null };
  return {
    allowed: false,
    reason: `read-only on stage ${stage}: start fnmesh ui with --allow-actions to redrive dead letters there`,
  };
}

/** A request's refusal or answer: HTTP status and JSON document. */
export interface RouteAnswer {
  status: number;
  document: unknown;
  headers?: Record<string, string>;
}

const refusal = (status: number, message: string, headers?: Record<string, string>): RouteAnswer => ({
  status,
  document: { error: { status, message } },
  ...(headers ? { headers } : {}),
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) throw new MeshConfigError(`an action's body is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The redrive request's body: `{"all": true}` (every dead letter of the channel) or
 * `{"messageIds": ["…", …]}` (1–1000 non-empty ids).
 * @throws MeshConfigError saying what is wrong with it
 */
export function parseRedriveRequest(text: string): { messageIds?: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MeshConfigError('the body must be JSON: {"all": true} or {"messageIds": ["…"]}');
  }
  const fields = body as { all?: unknown; messageIds?: unknown } | null;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    throw new MeshConfigError('the body must be an object: {"all": true} or {"messageIds": ["…"]}');
  const keys = Object.keys(fields);
  if (keys.length === 1 && fields.all === true) return {};
  const ids = fields.messageIds;
  if (
    keys.length === 1 &&
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.length <= MAX_IDS &&
    ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 256)
  )
    return { messageIds: [...new Set(ids as string[])] };
  throw new MeshConfigError(`the body must be {"all": true} or {"messageIds": [1 to ${MAX_IDS} message ids]}`);
}

/**
 * Answers a `/api/dead-letters…` request (after the screens), or undefined if the path is not
 * one of these routes.
 */
export async function deadLetterRoute(
  req: IncomingMessage,
  url: URL,
  options: { deadLetters: UiDeadLetters | undefined; stage: string; allowActions: boolean },
): Promise<RouteAnswer | undefined> {
  const path = url.pathname;
  if (path !== '/api/dead-letters' && !path.startsWith('/api/dead-letters/')) return undefined;
  const { deadLetters } = options;
  if (!deadLetters) return refusal(404, 'no dead-letter queues here');
  const policy = redrivePolicy(options.stage, options.allowActions);
  try {
    const redriveMatch = REDRIVE_PATH.exec(path);
    if (redriveMatch) {
      if (req.method !== 'POST') return refusal(405, 'redrive takes POST', { Allow: 'POST' });
      if (!policy.allowed) return refusal(403, policy.reason!);
      const asked = parseRedriveRequest(await readBody(req));
      return { status: 200, document: await deadLetters.redrive(decodeURIComponent(redriveMatch[1]!), asked) };
    }
    if (path === '/api/dead-letters') {
      const document: ApiDeadLetterQueues = { queues: deadLetters.queues(), redrive: policy };
      return { status: 200, document };
    }
    const listMatch = LIST_PATH.exec(path);
    if (listMatch) {
      const asked = Number(url.searchParams.get('max') ?? 10);
      const max = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, MAX_PEEK) : 10;
      return { status: 200, document: await deadLetters.list(decodeURIComponent(listMatch[1]!), { max }) };
    }
    return refusal(404, 'no such API');
  } catch (err) {
    if (!(err instanceof MeshConfigError)) throw err;
    // An unknown channel is a missing resource; anything else is a bad request.
    return refusal(/^unknown channel/.test(err.message) ? 404 : 400, err.message);
  }
}
