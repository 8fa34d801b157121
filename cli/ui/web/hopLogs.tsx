/**
 * From a failed hop to its logs (issue 16, item 4): a "logs" button on a waterfall's failed hop
 * that ran in a Lambda invocation, which opens that invocation's log lines in place, read from
 * `GET /api/logs` when asked (and a link to the AWS console's log stream off stage local).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiRefused } from './api.ts';
import type { ApiHop, ApiLogLines } from './types.ts';

/** Around the hop's own time, for the log search: the lines come a little before and after the recorded span. */
const MARGIN_MS = 60_000;

async function readLines(token: string, hop: ApiHop, next: string | null, signal: AbortSignal): Promise<ApiLogLines> {
  const logs = hop.logs!;
  const params = new URLSearchParams({
    group: logs.group,
    stream: logs.stream,
    request: logs.requestId,
    from: String(Math.max(0, hop.startedAt - MARGIN_MS)),
    to: String(hop.startedAt + hop.durationMs + MARGIN_MS),
    limit: '100',
    ...(next ? { next } : {}),
  });
  const response = await fetch(`/api/logs?${params}`, { headers: { 'X-Fnmesh-Token': token }, cache: 'no-store', signal });
  const body = (await response.json()) as ApiLogLines | { error?: { message?: string } };
  if (!response.ok) throw new ApiRefused(response.status, (body as { error?: { message?: string } }).error?.message ?? response.statusText);
  return body as ApiLogLines;
}

/** Whether a hop gets a logs link: it failed, and it says where its logs are. */
export function hasLogs(hop: ApiHop): boolean {
  return hop.outcome !== 'ok' && !!hop.logs;
}

/** The button that opens or closes a hop's lines, and the console link (off local). */
export function LogsToggle({ hop, open, onToggle }: { hop: ApiHop; open: boolean; onToggle(): void }) {
  return (
    <>
      {' '}
      <button type="button" class="link" aria-expanded={open} aria-controls={`logs-${hop.hopId}`} onClick={onToggle}>
        logs
      </button>
      {hop.logs?.consoleUrl && (
        <>
          {' '}
          <a href={hop.logs.consoleUrl} target="_blank" rel="noopener noreferrer">
            console
          </a>
        </>
      )}
    </>
  );
}

/** A table row under the hop: its invocation's log lines, read when it opens. */
export function LogsRow({ token, hop, columns }: { token: string; hop: ApiHop; columns: number }) {
  const [lines, setLines] = useState<ApiLogLines['lines']>([]);
  const [next, setNext] = useState<string | null>(null);
  const [state, setState] = useState<'reading' | 'done' | string>('reading');
  const abort = useRef<AbortController | null>(null);
  const read = (from: string | null) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setState('reading');
    readLines(token, hop, from, controller.signal).then(
      (page) => {
        setLines((before) => (from ? [...before, ...page.lines] : page.lines));
        setNext(page.nextToken);
        setState('done');
      },
      (err: Error) => {
        if (!controller.signal.aborted) setState(err.message);
      },
    );
  };
  useEffect(() => {
    read(null);
    return () => abort.current?.abort();
  }, [token, hop.hopId]);
  const logs = hop.logs!;
  return (
    <tr class="logs" id={`logs-${hop.hopId}`} data-logs={hop.hopId}>
      <td colSpan={columns}>
        <p class="note">
          request <span class="mono">{logs.requestId}</span> · <span class="mono">{logs.group}</span> ·{' '}
          <span class="mono">{logs.stream}</span>
        </p>
        {state !== 'reading' && state !== 'done' && <p class="bad">{state}</p>}
        {lines.length > 0 ? (
          <pre class="log-lines" tabIndex={0} aria-label={`log lines of ${hop.name}`}>
            {lines.map((line) => `${new Date(line.timestamp).toISOString()}  ${line.message}`).join('\n')}
          </pre>
        ) : (
          state === 'done' && <p class="muted">No lines with this request id (yet: CloudWatch Logs can take a few seconds).</p>
        )}
        {state === 'reading' && <p class="muted">Reading the logs…</p>}
        <p class="controls">
          {next && state === 'done' && (
            <button type="button" onClick={() => read(next)}>
              More lines
            </button>
          )}{' '}
          <button type="button" onClick={() => read(null)} disabled={state === 'reading'}>
            Read again
          </button>
        </p>
      </td>
    </tr>
  );
}
