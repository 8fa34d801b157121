/** Recent runs, and one run's hops as a waterfall (a failed hop opens its logs in place: hopLogs.tsx). */
import { Fragment } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { hasLogs, LogsRow, LogsToggle } from './hopLogs.tsx';
import { readTrace, setFragment } from './api.ts';
import { Empty, Section, ms, time } from './parts.tsx';
import type { ApiTrace, ApiTraceSummary } from './types.ts';

export function Runs({ token, traces, problem }: { token: string; traces: ApiTraceSummary[] | null; problem: string | null }) {
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
export function Waterfall({ token, traceId }: { token: string; traceId: string }) {
  const [trace, setTrace] = useState<ApiTrace | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [openLogs, setOpenLogs] = useState<ReadonlySet<string>>(new Set());
  const toggleLogs = (hopId: string) => {
    const next = new Set(openLogs);
    if (!next.delete(hopId)) next.add(hopId);
    setOpenLogs(next);
  };
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
                <Fragment key={hop.hopId}>
                  <tr data-hop={hop.hopId} class={hop.outcome === 'ok' ? '' : 'failed'}>
                    <td class="num">+{ms(hop.offsetMs)}</td>
                    <td class="num">{ms(hop.durationMs)}</td>
                    <td>
                      <span class={`kind kind-${hop.kind}`}>{hop.kind}</span>
                    </td>
                    <th scope="row" style={{ paddingInlineStart: `${0.5 + depthOf(hop.hopId) * 1.2}em` }}>
                      {hop.name}
                      {hop.detail && <span class="muted mono"> {JSON.stringify(hop.detail)}</span>}
                    </th>
                    <td class={hop.outcome === 'ok' ? '' : 'bad'}>
                      {hop.outcome}
                      {hasLogs(hop) && <LogsToggle hop={hop} open={openLogs.has(hop.hopId)} onToggle={() => toggleLogs(hop.hopId)} />}
                    </td>
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
                  {hasLogs(hop) && openLogs.has(hop.hopId) && <LogsRow token={token} hop={hop} columns={6} />}
                </Fragment>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
