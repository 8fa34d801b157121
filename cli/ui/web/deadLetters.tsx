/**
 * The Dead letters section: a channel's dead letters with their reasons, read when asked (a read
 * receives each message and hides it for seconds, so it is never done on a timer), and their
 * redrive back to the channel's queue after a confirmation that names how many and where to. The
 * redrive is the page's only state-changing request; where the server does not allow it (a stage
 * other than local without `fnmesh ui --allow-actions`) the buttons are disabled with the reason.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiRefused } from './api.ts';
import { Section, time } from './parts.tsx';
import type { ApiDeadLetter, ApiDeadLetterQueues, ApiDeadLetters, ApiRedrive, ApiRedriveRequest, ApiStatus } from './types.ts';

/** At most this many are read (the server's own limit too). */
const READ_MAX = 100;

async function call<T>(token: string, path: string, init: { body?: ApiRedriveRequest; signal?: AbortSignal } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.body ? 'POST' : 'GET',
    headers: { 'X-Fnmesh-Token': token, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
    cache: 'no-store',
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const document = (await response.json()) as T | { error?: { message?: string } };
  if (!response.ok)
    throw new ApiRefused(response.status, (document as { error?: { message?: string } }).error?.message ?? response.statusText);
  return document as T;
}

function clip(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? '' : 's'}`;
}

/** What the confirmation is about: the ids to move (null: all of the channel's), how many, from where to where. */
interface Pending {
  messageIds: string[] | null;
  count: number;
  /** The count is a lower bound (the read stopped at its maximum). */
  atLeast: boolean;
  channel: string;
  from: string;
  to: string;
}

export function DeadLetters({ token, status }: { token: string; status: ApiStatus | null }) {
  const [queues, setQueues] = useState<ApiDeadLetterQueues | null>(null);
  const [channel, setChannel] = useState('');
  const [listing, setListing] = useState<ApiDeadLetters | null>(null);
  const [reading, setReading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ redrive: ApiRedrive; at: number } | { error: string; at: number } | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const resultRef = useRef<HTMLParagraphElement>(null);
  const opener = useRef<HTMLElement | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    call<ApiDeadLetterQueues>(token, '/api/dead-letters', { signal: abort.signal }).then(
      (next) => {
        setQueues(next);
        setChannel((current) => current || next.queues[0]?.channel || '');
      },
      (err: Error) => {
        if (!abort.signal.aborted) setProblem(err.message);
      },
    );
    return () => abort.abort();
  }, [token]);

  useEffect(() => {
    if (pending && dialog.current && !dialog.current.open) {
      dialog.current.showModal();
      cancelButton.current?.focus();
    }
  }, [pending]);

  useEffect(() => {
    if (result) resultRef.current?.focus();
  }, [result]);

  const read = async (which = channel) => {
    setReading(true);
    setProblem(null);
    try {
      const next = await call<ApiDeadLetters>(token, `/api/dead-letters/${encodeURIComponent(which)}?max=${READ_MAX}`);
      setListing(next);
      setSelected(new Set());
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setReading(false);
    }
  };

  const queue = queues?.queues.find((candidate) => candidate.channel === channel);
  const policy = queues?.redrive ?? { allowed: false, reason: 'reading whether redrive is allowed…' };
  const shown = listing && listing.channel === channel ? listing : null;
  /** The listed messages a redrive of this channel would move (on the shared shards queue, only this shard's). */
  const movable = shown ? shown.messages.filter((letter) => !queue?.shared || letter.source === channel) : [];
  const depthOf = (name: string) => status?.channels.find((row) => row.name === name)?.dlqDepth ?? null;

  const ask = (messageIds: string[] | null, event: Event) => {
    if (!queue || !shown) return;
    opener.current = event.currentTarget as HTMLElement;
    setPending({
      messageIds,
      count: messageIds ? messageIds.length : movable.length,
      atLeast: messageIds === null && shown.messages.length >= shown.max,
      channel,
      from: queue.deadLetterQueue,
      to: queue.queue,
    });
  };

  const close = () => {
    dialog.current?.close();
    setPending(null);
    opener.current?.focus();
  };

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    const body: ApiRedriveRequest = pending.messageIds ? { messageIds: pending.messageIds } : { all: true };
    try {
      const redrive = await call<ApiRedrive>(token, `/api/dead-letters/${encodeURIComponent(pending.channel)}/redrive`, { body });
      setResult({ redrive, at: Date.now() });
    } catch (err) {
      setResult({ error: (err as Error).message, at: Date.now() });
    } finally {
      setBusy(false);
      dialog.current?.close();
      setPending(null);
    }
    // What is left, now (the user asked for a change: this read is its consequence, not a poll).
    await read(pending.channel);
  };

  const toggle = (letter: ApiDeadLetter, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(letter.messageId);
    else next.delete(letter.messageId);
    setSelected(next);
  };

  const disabledWhy = policy.allowed ? undefined : 'redrive-off';

  return (
    <Section id="dead-letters" title="Dead letters" count={status?.deadLetters ?? 0}>
      <p class="note">
        Read when you ask: reading receives each message (its receive count grows) and hides it for a few seconds. A redrive sends them back
        to the channel's queue.
      </p>
      {queues && (
        <p class="controls">
          <label>
            Channel{' '}
            <select
              value={channel}
              onChange={(event) => {
                setChannel((event.currentTarget as HTMLSelectElement).value);
                setResult(null);
              }}
            >
              {queues.queues.map((option) => {
                const depth = depthOf(option.channel);
                return (
                  <option key={option.channel} value={option.channel}>
                    {option.channel}
                    {depth !== null ? ` (${depth} in ${option.deadLetterQueue})` : ''}
                  </option>
                );
              })}
            </select>
          </label>{' '}
          <button type="button" onClick={() => void read()} disabled={reading || !channel}>
            {reading ? 'Reading…' : 'Read dead letters'}
          </button>
        </p>
      )}
      {problem && <p class="bad">{problem}</p>}
      {shown && (
        <>
          <p>
            {shown.messages.length === 0
              ? `${shown.deadLetterQueue} is empty`
              : `${plural(shown.messages.length, 'dead letter')} in ${shown.deadLetterQueue}${shown.messages.length >= shown.max ? ` (the first ${shown.max})` : ''}`}
            , read at {time(shown.readAt)}
            {queue?.shared ? ' · the shard channels share this queue: a redrive moves only this shard’s' : ''}
          </p>
          {shown.messages.length > 0 && (
            <table class="dead-letters">
              <thead>
                <tr>
                  <th scope="col">
                    <span class="visually-hidden">select</span>
                  </th>
                  <th scope="col">message</th>
                  <th scope="col" class="num">
                    receives
                  </th>
                  <th scope="col">source</th>
                  <th scope="col">reason</th>
                  <th scope="col">value</th>
                </tr>
              </thead>
              <tbody>
                {shown.messages.map((letter) => (
                  <tr key={letter.messageId} data-message={letter.messageId}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`select ${letter.messageId}`}
                        checked={selected.has(letter.messageId)}
                        disabled={queue?.shared === true && letter.source !== channel}
                        onChange={(event) => toggle(letter, (event.currentTarget as HTMLInputElement).checked)}
                      />
                    </td>
                    <th scope="row" class="mono">
                      {letter.messageId}
                      {letter.envelope && (
                        <>
                          {' '}
                          <a href={`#${new URLSearchParams({ token, trace: letter.envelope.traceId })}`}>run</a>
                        </>
                      )}
                    </th>
                    <td class="num">{letter.receiveCount}</td>
                    <td>{letter.source ?? '?'}</td>
                    <td data-field="reason" class={letter.reason ? '' : 'muted'}>
                      {letter.reason ?? 'moved by the queue’s redrive policy (the consumer failed maxReceiveCount times: see its logs)'}
                    </td>
                    <td class="mono">{clip(typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body), 80)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p class="controls">
            <button
              type="button"
              disabled={!policy.allowed || selected.size === 0 || busy}
              aria-describedby={disabledWhy}
              onClick={(event) => ask([...selected], event)}
            >
              Redrive selected ({selected.size})
            </button>{' '}
            <button
              type="button"
              disabled={!policy.allowed || movable.length === 0 || busy}
              aria-describedby={disabledWhy}
              onClick={(event) => ask(null, event)}
            >
              Redrive all
            </button>
          </p>
        </>
      )}
      {!policy.allowed && queues && (
        <p id="redrive-off" class="note">
          Redrive is off: {policy.reason}
        </p>
      )}
      <div role="status" aria-live="polite">
        {result && (
          <p ref={resultRef} tabIndex={-1} class={'error' in result || result.redrive.failed ? 'bad' : 'ok'} data-field="redrive-result">
            {'error' in result ? `Redrive refused: ${result.error}` : summary(result.redrive)}
          </p>
        )}
        {result && !('error' in result) && result.redrive.failures.length > 0 && (
          <ul class="bad">
            {result.redrive.failures.map((failure) => (
              <li key={failure.messageId}>
                <span class="mono">{failure.messageId}</span>: {failure.reason}
              </li>
            ))}
          </ul>
        )}
      </div>
      <dialog ref={dialog} aria-labelledby="redrive-title" aria-describedby="redrive-what" onCancel={close}>
        {pending && (
          <>
            <h3 id="redrive-title">Redrive {plural(pending.count, 'dead letter')}?</h3>
            <p id="redrive-what">
              Move {pending.messageIds ? '' : pending.atLeast ? 'all (at least) ' : 'all '}
              {plural(pending.count, 'message')} from <span class="mono">{pending.from}</span> back to{' '}
              <span class="mono">{pending.to}</span>, where the {pending.channel} channel’s receivers get them again.
            </p>
            <p class="controls">
              <button type="button" ref={cancelButton} onClick={close} disabled={busy}>
                Cancel
              </button>{' '}
              <button type="button" class="primary" onClick={() => void confirm()} disabled={busy}>
                {busy ? 'Redriving…' : `Redrive ${plural(pending.count, 'message')} to ${pending.to}`}
              </button>
            </p>
          </>
        )}
      </dialog>
    </Section>
  );
}

function summary(redrive: ApiRedrive): string {
  const parts = [`Moved ${plural(redrive.moved, 'message')} from ${redrive.deadLetterQueue} to ${redrive.queue}.`];
  if (redrive.failed) parts.push(`${redrive.failed} could not be sent and stay in ${redrive.deadLetterQueue}:`);
  if (redrive.skipped) parts.push(`${redrive.skipped} of other shards were left there.`);
  if (redrive.duplicated) parts.push(`${redrive.duplicated} were sent but not deleted: they are in both queues.`);
  if (redrive.notFound.length) parts.push(`${redrive.notFound.length} asked for were no longer there.`);
  return parts.join(' ');
}
