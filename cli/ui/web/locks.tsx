/** The Locks section: holder, fence and a lease counted down on the page's clock. */
import { Empty, Section, ms, useNow } from './parts.tsx';
import type { ApiLock, ApiStatus } from './types.ts';

/** A lock's lease left now: counted down locally from what the server read (`receivedAt` is the page's clock). */
function leaseLeft(lock: ApiLock, receivedAt: number, now: number): number | null {
  return lock.leaseLeftMs === null ? null : Math.max(0, lock.leaseLeftMs - (now - receivedAt));
}

export function Locks({ status, receivedAt }: { status: ApiStatus; receivedAt: number }) {
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
