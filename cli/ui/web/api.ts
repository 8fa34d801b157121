/**
 * The page's side of the API: the session token from the URL's fragment (`#token=…`, never sent
 * to the server in a request line or a Referer), JSON reads carrying it in `X-Fnmesh-Token`, and
 * the live status stream (EventSource cannot set headers: the token goes in its query).
 */
import type { ApiError, ApiStatus, ApiTopology, ApiTrace, ApiTraces } from './types.ts';

/** The fragment's parameters: `token`, and `trace` when a run is open. */
export function fragment(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

/** Sets (or, with null, removes) one fragment parameter, keeping the others: a history entry per change. */
export function setFragment(name: string, value: string | null): void {
  const params = fragment();
  if (value === null) params.delete(name);
  else params.set(name, value);
  location.hash = params.toString();
}

export class ApiRefused extends Error {
  override name = 'ApiRefused';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(token: string, path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { 'X-Fnmesh-Token': token }, cache: 'no-store', ...(signal ? { signal } : {}) });
  const body = (await response.json()) as T | ApiError;
  if (!response.ok) throw new ApiRefused(response.status, (body as ApiError).error?.message ?? response.statusText);
  return body as T;
}

export const readStatus = (token: string, signal?: AbortSignal) => getJson<ApiStatus>(token, '/api/status', signal);
export const readTraces = (token: string, signal?: AbortSignal) => getJson<ApiTraces>(token, '/api/traces?limit=50', signal);
export const readTopology = (token: string, signal?: AbortSignal) => getJson<ApiTopology>(token, '/api/topology', signal);
export const readTrace = (token: string, traceId: string, signal?: AbortSignal) =>
  getJson<ApiTrace>(token, `/api/traces/${encodeURIComponent(traceId)}`, signal);

/**
 * Follows `GET /api/events`: `onStatus` for each status read that changed something, `onUnchanged`
 * for one that did not, `onProblem` when a read failed or
 * the stream dropped (EventSource reconnects by itself). @returns a function that stops it
 */
export function followStatus(
  token: string,
  handlers: { onStatus(status: ApiStatus): void; onUnchanged?(readAt: number): void; onProblem(message: string): void; onOpen(): void },
): () => void {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source.addEventListener('open', () => handlers.onOpen());
  source.addEventListener('status', (event) => handlers.onStatus(JSON.parse((event as MessageEvent<string>).data) as ApiStatus));
  // Read again, nothing changed: the last status still holds (its leases count down on the page).
  source.addEventListener('unchanged', (event) =>
    handlers.onUnchanged?.((JSON.parse((event as MessageEvent<string>).data) as { readAt: number }).readAt),
  );
  source.addEventListener('problem', (event) =>
    handlers.onProblem((JSON.parse((event as MessageEvent<string>).data) as { message: string }).message),
  );
  source.addEventListener('error', () => handlers.onProblem('connection to fnmesh ui lost; reconnecting…'));
  return () => source.close();
}
