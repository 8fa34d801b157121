/**
 * The Locks section: every Mutex, RWMutex and Semaphore with its kind; a (write) holder, its fence
 * and a lease counted down on the page's clock; an RWMutex's readers; a Semaphore's permits held
 * of its capacity and their holders. Long lists are capped and filterable (many.tsx).
 */
import { useMany } from './many.tsx';
import { Empty, Section, ms, useNow } from './parts.tsx';
import type { ApiLock, ApiLockHolder, ApiStatus } from './types.ts';

/** A lease left now: counted down locally from what the server read (`receivedAt` is the page's clock). */
function leaseLeft(leaseLeftMs: number | null, receivedAt: number, now: number): number | null {
  return leaseLeftMs === null ? null : Math.max(0, leaseLeftMs - (now - receivedAt));
}

function leaseText(left: number | null): string {
  return left === null ? '–' : left === 0 ? 'expired' : ms(left);
}

const KIND_LABEL: Record<ApiLock['kind'], string> = { mutex: 'Mutex', rwmutex: 'RWMutex', semaphore: 'Semaphore' };

/** An RWMutex's readers or a Semaphore's holders, each with its own lease. */
function Holders(props: { holders: ApiLockHolder[]; receivedAt: number; now: number; label: string }) {
  return (
    <ul class="holders" aria-label={props.label}>
      {props.holders.map((entry) => {
        const left = leaseLeft(entry.leaseLeftMs, props.receivedAt, props.now);
        return (
          <li key={entry.holder} data-holder={entry.holder} class={left === 0 ? 'muted' : ''}>
            <span class="mono">{entry.holder}</span>
            {entry.weight !== undefined && ` × ${entry.weight}`} · {leaseText(left)}
          </li>
        );
      })}
    </ul>
  );
}

/** The holder cell: the (write) holder, or an RWMutex's readers, or a Semaphore's permits. */
function HolderCell({ lock, receivedAt, now }: { lock: ApiLock; receivedAt: number; now: number }) {
  if (lock.permits) {
    const { held, capacity, holders } = lock.permits;
    return (
      <td data-field="holder">
        <span data-field="permits">
          {held}/{capacity}
        </span>{' '}
        permits held
        {holders.length > 0 && <Holders holders={holders} receivedAt={receivedAt} now={now} label={`holders of ${lock.name}`} />}
      </td>
    );
  }
  const readers = lock.readers ?? [];
  const live = readers.filter((reader) => leaseLeft(reader.leaseLeftMs, receivedAt, now) !== 0).length;
  return (
    <td data-field="holder">
      {lock.holder !== null ? <span class="mono">{lock.holder}</span> : readers.length === 0 && <span class="muted">free</span>}
      {lock.kind === 'rwmutex' && (readers.length > 0 || lock.writerWaiting) && (
        <div>
          <span data-field="readers">{live}</span> reader{live === 1 ? '' : 's'}
          {lock.writerWaiting && <span class="badge">writer waiting</span>}
          {readers.length > 0 && <Holders holders={readers} receivedAt={receivedAt} now={now} label={`readers of ${lock.name}`} />}
        </div>
      )}
    </td>
  );
}

export function Locks({ status, receivedAt }: { status: ApiStatus; receivedAt: number }) {
  const now = useNow(200);
  const { shown, controls } = useMany(status.locks, (lock) => `${lock.name} ${lock.kind}`, 'locks');
  return (
    <Section id="locks" title="Locks" count={status.locks.length}>
      {status.locks.length === 0 ? (
        <Empty what="locks" />
      ) : (
        <>
          {controls}
          <table>
            <thead>
              <tr>
                <th scope="col">lock</th>
                <th scope="col">kind</th>
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
              {shown.map((lock) => {
                const left = leaseLeft(lock.leaseLeftMs, receivedAt, now);
                return (
                  <tr key={`${lock.kind} ${lock.name}`} data-lock={lock.name} data-kind={lock.kind}>
                    <th scope="row">{lock.name}</th>
                    <td data-field="kind">{KIND_LABEL[lock.kind]}</td>
                    <HolderCell lock={lock} receivedAt={receivedAt} now={now} />
                    <td class="num" data-field="fence">
                      {lock.kind === 'semaphore' ? '–' : lock.fence}
                    </td>
                    <td class={`num${left === 0 ? ' bad' : ''}`} data-field="lease">
                      {leaseText(left)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}
