/**
 * The page of `fnmesh ui`: the stack's topology (a graph with live counts), channels, locks (with a lease countdown), groups and wait groups (with
 * progress bars), Once keys, recent runs and one run's hops as a waterfall. Live: the status
 * comes from the server's event stream; the runs list is re-read every few seconds. Plain HTML
 * elements (tables, buttons, <progress>), so the keyboard and screen readers work as they do on
 * any page; the theme follows `prefers-color-scheme` (style.css).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiRefused, followStatus, fragment, readTraces } from './api.ts';
import { Channels } from './channels.tsx';
import { Groups, OnceKeys, WaitGroups } from './coordination.tsx';
import { DeadLetters } from './deadLetters.tsx';
import { Locks } from './locks.tsx';
import { Jump, time } from './parts.tsx';
import { Runs, Waterfall } from './runs.tsx';
import { Topology } from './topology.tsx';
import type { ApiStatus, ApiTraceSummary } from './types.ts';

const TRACES_EVERY_MS = 5000;

function useFragment(): URLSearchParams {
  const [params, setParams] = useState(fragment);
  useEffect(() => {
    const changed = () => setParams(fragment());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return params;
}

function App() {
  const params = useFragment();
  const token = params.get('token') ?? '';
  const traceId = params.get('trace');
  const [status, setStatus] = useState<{ status: ApiStatus; receivedAt: number } | null>(null);
  const [live, setLive] = useState<{ ok: boolean; message: string }>({ ok: false, message: 'connecting…' });
  const [traces, setTraces] = useState<ApiTraceSummary[] | null>(null);
  const [tracesProblem, setTracesProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!token) return;
    return followStatus(token, {
      onOpen: () => setLive({ ok: true, message: 'live' }),
      onStatus: (next) => {
        setStatus({ status: next, receivedAt: Date.now() });
        setLive({ ok: true, message: `live · read ${time(next.readAt)}` });
      },
      onUnchanged: (readAt) => setLive({ ok: true, message: `live · read ${time(readAt)}` }),
      onProblem: (message) => setLive({ ok: false, message }),
    });
  }, [token]);

  useEffect(() => {
    if (!token) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The next read is scheduled when this one ends: on a large table a read can outlast the interval.
    const read = () =>
      readTraces(token, abort.signal)
        .then(
          ({ traces: next }) => {
            setTraces(next);
            setTracesProblem(null);
          },
          (err: Error) => {
            if (!abort.signal.aborted) setTracesProblem(err instanceof ApiRefused ? err.message : `runs: ${err.message}`);
          },
        )
        .finally(() => {
          if (!abort.signal.aborted) timer = setTimeout(read, TRACES_EVERY_MS);
        });
    void read();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [token]);

  useEffect(() => {
    if (traceId) document.getElementById('trace-title')?.focus();
  }, [traceId]);

  if (!token)
    return (
      <main>
        <h1>fnmesh</h1>
        <p class="bad">This page needs its session token: open the URL that `fnmesh ui` printed (it ends in #token=…).</p>
      </main>
    );

  return (
    <>
      <Jump class="skip" to="main">
        Skip to content
      </Jump>
      <header>
        <h1>fnmesh</h1>
        {status && (
          <p class="where">
            stage <strong>{status.status.stage}</strong> · table <span class="mono">{status.status.tableName}</span>
            {status.status.strict?.enabled && <span class="badge">strict mode</span>}
            {' · '}
            <span class={status.status.deadLetters ? 'bad' : ''}>{status.status.deadLetters} dead letters</span>
          </p>
        )}
        <p class={`live ${live.ok ? 'ok' : 'bad'}`} role="status" aria-live="polite">
          {live.message}
        </p>
        {!traceId && (
          <nav aria-label="Sections">
            {[
              ['topology', 'Topology'],
              ['channels', 'Channels'],
              ['dead-letters', 'Dead letters'],
              ['locks', 'Locks'],
              ['groups', 'Groups'],
              ['waitgroups', 'Wait groups'],
              ['once', 'Once keys'],
              ['runs', 'Runs'],
            ].map(([id, label]) => (
              <Jump key={id} to={id!}>
                {label}
              </Jump>
            ))}
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {traceId ? (
          <Waterfall token={token} traceId={traceId} />
        ) : (
          <>
            <Topology token={token} status={status?.status ?? null} />
            {status === null ? (
              <p class="muted">Reading the mesh…</p>
            ) : (
              <>
                <Channels status={status.status} />
                <DeadLetters token={token} status={status.status} />
                <Locks status={status.status} receivedAt={status.receivedAt} />
                <Groups status={status.status} />
                <WaitGroups status={status.status} />
                <OnceKeys status={status.status} />
              </>
            )}
            <Runs token={token} traces={traces} problem={tracesProblem} />
          </>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
