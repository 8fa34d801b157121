/**
 * The page of `fnmesh ui`: channels, locks (with a lease countdown), groups and wait groups (with
 * progress bars), Once keys, recent runs and one run's hops as a waterfall. Live: the status
 * comes from the server's event stream; the runs list is re-read every few seconds. Plain HTML
 * elements (tables, buttons, <progress>), so the keyboard and screen readers work as they do on
 * any page; the theme follows `prefers-color-scheme` (style.css).
 */
import { type ComponentChildren, render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiRefused, followStatus, fragment, readTrace, readTraces, setFragment } from './api.ts';
import type { ApiGroup, ApiLock, ApiStatus, ApiTrace, ApiTraceSummary, ApiWaitGroup } from './types.ts';

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

/** The wall clock, re-read every `everyMs` (for countdowns). */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function ms(value: number): string {
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

function time(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString();
}

function Section(props: { id: string; title: string; count: number; children: ComponentChildren }) {
  return (
    <section aria-labelledby={`${props.id}-title`} id={props.id}>
      <h2 id={`${props.id}-title`} tabIndex={-1}>
        {props.title} <span class="count">{props.count}</span>
      </h2>
      {props.children}
    </section>
  );
}

/**
 * A link to a part of the page that keeps the fragment (it holds the session token): it scrolls
 * there and moves the keyboard focus to its heading instead of following `#id`.
 */
function Jump(props: { to: string; children: ComponentChildren; class?: string }) {
  const go = (event: MouseEvent) => {
    event.preventDefault();
    const target = document.getElementById(props.to);
    target?.scrollIntoView({ block: 'start' });
    (target?.querySelector<HTMLElement>('h2') ?? target)?.focus();
  };
  return (
    <a href={`#${props.to}`} onClick={go} {...(props.class ? { class: props.class } : {})}>
      {props.children}
    </a>
  );
}

function Empty(props: { what: string }) {
  return <p class="empty">No {props.what} yet.</p>;
}

function Channels({ status }: { status: ApiStatus }) {
  return (
    <Section id="channels" title="Channels" count={status.channels.length}>
      <table>
        <thead>
          <tr>
            <th scope="col">channel</th>
            <th scope="col" class="num">
              queued
            </th>
            <th scope="col" class="num">
              sent
            </th>
            <th scope="col" class="num">
              received
            </th>
            <th scope="col" class="num">
              abandoned
            </th>
            <th scope="col">state</th>
            <th scope="col" class="num">
              dead letters
            </th>
          </tr>
        </thead>
        <tbody>
          {status.channels.map((channel) => (
            <tr key={channel.name} data-channel={channel.name}>
              <th scope="row">{channel.name}</th>
              <td class="num" data-field="queued">
                {channel.queued}
              </td>
              <td class="num">{channel.sent}</td>
              <td class="num">{channel.received}</td>
              <td class="num">{channel.abandoned}</td>
              <td>{channel.closed ? <span class="badge">closed</span> : 'open'}</td>
              <td class={`num${channel.dlqDepth ? ' bad' : ''}`}>{channel.dlqDepth ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="note">Dead letters: SQS's approximate count per queue; the shard channels share one queue.</p>
    </Section>
  );
}

/** A lock's lease left now: counted down locally from what the server read (`receivedAt` is the page's clock). */
function leaseLeft(lock: ApiLock, receivedAt: number, now: number): number | null {
  return lock.leaseLeftMs === null ? null : Math.max(0, lock.leaseLeftMs - (now - receivedAt));
}

function Locks({ status, receivedAt }: { status: ApiStatus; receivedAt: number }) {
  const now = useNow(200);
  return (
    <Section id="locks" title="Locks" count={status.locks.length}>
      {status.locks.length === 0 ? (
        <Empty what="locks" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">lock</th>
              <th scope="col">holder</th>
              <th scope="col" class="num">
                fence
              </th>
              <th scope="col" class="num">
                lease left
              </th>
            </tr>
          </thead>
          <tbody>
            {status.locks.map((lock) => {
              const left = leaseLeft(lock, receivedAt, now);
              return (
                <tr key={lock.name} data-lock={lock.name}>
                  <th scope="row">{lock.name}</th>
                  <td class="mono" data-field="holder">
                    {lock.holder ?? <span class="muted">free</span>}
                  </td>
                  <td class="num" data-field="fence">
                    {lock.fence}
                  </td>
                  <td class={`num${left === 0 ? ' bad' : ''}`} data-field="lease">
                    {left === null ? '–' : left === 0 ? 'expired' : ms(left)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Progress(props: { label: string; done: number; total: number }) {
  const total = Math.max(props.total, props.done, 1);
  return (
    <progress max={total} value={props.done} aria-label={props.label}>
      {props.done}/{total}
    </progress>
  );
}

function groupError(group: ApiGroup): string {
  const failure = group.firstError;
  return failure ? `${failure.errorType}: ${failure.errorMessage} (task ${failure.taskId}, ${failure.functionName})` : '';
}

function Groups({ status }: { status: ApiStatus }) {
  return (
    <Section id="groups" title="Groups" count={status.groups.length}>
      {status.groups.length === 0 ? (
        <Empty what="groups" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">group</th>
              <th scope="col">progress</th>
              <th scope="col" class="num">
                pending
              </th>
              <th scope="col" class="num">
                succeeded
              </th>
              <th scope="col" class="num">
                failed
              </th>
              <th scope="col">first error</th>
            </tr>
          </thead>
          <tbody>
            {status.groups.map((group) => (
              <tr key={group.id} data-group={group.id}>
                <th scope="row" class="mono">
                  {group.id}
                </th>
                <td>
                  <Progress label={`group ${group.id}: finished tasks`} done={group.succeeded + group.failed} total={group.started} />
                </td>
                <td class="num" data-field="pending">
                  {group.pending}
                </td>
                <td class="num" data-field="succeeded">
                  {group.succeeded}
                </td>
                <td class={`num${group.failed ? ' bad' : ''}`}>{group.failed}</td>
                <td class="bad">{groupError(group)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function WaitGroups({ status }: { status: ApiStatus }) {
  // The counter item keeps no total of `add`s: a bar only for tasks started by `go` (finished = started − count).
  const finished = (group: ApiWaitGroup) => Math.max(0, group.started - group.count);
  return (
    <Section id="waitgroups" title="Wait groups" count={status.waitGroups.length}>
      {status.waitGroups.length === 0 ? (
        <Empty what="wait groups" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">wait group</th>
              <th scope="col">progress</th>
              <th scope="col" class="num">
                counter
              </th>
              <th scope="col" class="num">
                started
              </th>
              <th scope="col" class="num">
                lost
              </th>
            </tr>
          </thead>
          <tbody>
            {status.waitGroups.map((group) => (
              <tr key={group.name} data-waitgroup={group.name}>
                <th scope="row" class="mono">
                  {group.name}
                </th>
                <td>
                  {group.started > 0 ? (
                    <Progress label={`wait group ${group.name}: finished tasks`} done={finished(group)} total={group.started} />
                  ) : (
                    <span class="muted">{group.count === 0 ? 'done' : `${group.count} to go`}</span>
                  )}
                </td>
                <td class="num" data-field="count">
                  {group.count}
                </td>
                <td class="num">{group.started}</td>
                <td class={`num${group.lost ? ' bad' : ''}`}>{group.lost}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function OnceKeys({ status }: { status: ApiStatus }) {
  return (
    <Section id="once" title="Once keys" count={status.onceKeys.length}>
      {status.onceKeys.length === 0 ? (
        <Empty what="Once keys" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">key</th>
              <th scope="col">state</th>
              <th scope="col" class="num">
                runs
              </th>
              <th scope="col">owner</th>
            </tr>
          </thead>
          <tbody>
            {status.onceKeys.map((once) => (
              <tr key={once.key}>
                <th scope="row" class="mono">
                  {once.key}
                </th>
                <td class={once.state === 'failed' ? 'bad' : ''}>{once.state}</td>
                <td class="num">{once.fence}</td>
                <td class="mono">{once.owner ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Runs({ token, traces, problem }: { token: string; traces: ApiTraceSummary[] | null; problem: string | null }) {
  return (
    <Section id="runs" title="Recent runs" count={traces?.length ?? 0}>
      {problem && <p class="bad">{problem}</p>}
      {traces === null ? (
        <p class="muted">Reading…</p>
      ) : traces.length === 0 ? (
        <Empty what="runs (a demo prints its trace id; fnmesh demo squares)" />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">run</th>
              <th scope="col">started</th>
              <th scope="col" class="num">
                duration
              </th>
              <th scope="col" class="num">
                hops
              </th>
              <th scope="col" class="num">
                failed
              </th>
              <th scope="col">trace id</th>
            </tr>
          </thead>
          <tbody>
            {traces.map((trace) => (
              <tr key={trace.traceId} data-trace={trace.traceId}>
                <th scope="row">
                  <a href={`#${new URLSearchParams({ token, trace: trace.traceId })}`}>{trace.name || '(unnamed)'}</a>
                </th>
                <td>{time(trace.startedAt)}</td>
                <td class="num">{ms(trace.durationMs)}</td>
                <td class="num">{trace.hops}</td>
                <td class={`num${trace.failed ? ' bad' : ''}`}>{trace.failed}</td>
                <td class="mono">{trace.traceId}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

/** One run, hop by hop: offset, duration, kind, name (indented under its parent), outcome, a bar on the run's time axis. */
function Waterfall({ token, traceId }: { token: string; traceId: string }) {
  const [trace, setTrace] = useState<ApiTrace | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    setTrace(null);
    setProblem(null);
    readTrace(token, traceId, abort.signal).then(setTrace, (err: Error) => {
      if (!abort.signal.aborted) setProblem(err.message);
    });
    return () => abort.abort();
  }, [token, traceId]);
  const depthOf = useMemo(() => {
    const parentOf = new Map(trace?.hops.map((hop) => [hop.hopId, hop.parent]) ?? []);
    const depth = (hopId: string) => {
      let level = 0;
      for (let parent = parentOf.get(hopId); parent && parentOf.has(parent) && level < 8; parent = parentOf.get(parent)) level++;
      return level;
    };
    return depth;
  }, [trace]);
  const total = Math.max(1, trace?.durationMs ?? 1);
  return (
    <section aria-labelledby="trace-title" id="trace">
      <h2 id="trace-title" tabIndex={-1}>
        Run <span class="mono">{traceId}</span>
      </h2>
      <p>
        <button type="button" onClick={() => setFragment('trace', null)}>
          Back to the mesh
        </button>
      </p>
      {problem && <p class="bad">{problem}</p>}
      {trace && (
        <>
          <p>
            {trace.hops.length} hop(s) over {ms(trace.durationMs)}, from {new Date(trace.startedAt).toISOString()}
          </p>
          <table class="waterfall">
            <thead>
              <tr>
                <th scope="col" class="num">
                  offset
                </th>
                <th scope="col" class="num">
                  duration
                </th>
                <th scope="col">kind</th>
                <th scope="col">name</th>
                <th scope="col">outcome</th>
                <th scope="col" class="timeline">
                  timeline
                </th>
              </tr>
            </thead>
            <tbody>
              {trace.hops.map((hop) => (
                <tr key={hop.hopId} data-hop={hop.hopId} class={hop.outcome === 'ok' ? '' : 'failed'}>
                  <td class="num">+{ms(hop.offsetMs)}</td>
                  <td class="num">{ms(hop.durationMs)}</td>
                  <td>
                    <span class={`kind kind-${hop.kind}`}>{hop.kind}</span>
                  </td>
                  <th scope="row" style={{ paddingInlineStart: `${0.5 + depthOf(hop.hopId) * 1.2}em` }}>
                    {hop.name}
                    {hop.detail && <span class="muted mono"> {JSON.stringify(hop.detail)}</span>}
                  </th>
                  <td class={hop.outcome === 'ok' ? '' : 'bad'}>{hop.outcome}</td>
                  <td class="timeline" aria-hidden="true">
                    <div
                      class={`bar kind-${hop.kind}`}
                      style={{
                        marginInlineStart: `${(hop.offsetMs / total) * 100}%`,
                        width: `max(2px, ${(hop.durationMs / total) * 100}%)`,
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
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
              ['channels', 'Channels'],
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
            {status === null ? (
              <p class="muted">Reading the mesh…</p>
            ) : (
              <>
                <Channels status={status.status} />
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
