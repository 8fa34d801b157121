/** Groups and wait groups (with progress bars) and Once keys. */
import { useMany } from './many.tsx';
import { Empty, Progress, Section } from './parts.tsx';
import type { ApiGroup, ApiStatus, ApiWaitGroup } from './types.ts';

function groupError(group: ApiGroup): string {
  const failure = group.firstError;
  return failure ? `${failure.errorType}: ${failure.errorMessage} (task ${failure.taskId}, ${failure.functionName})` : '';
}

export function Groups({ status }: { status: ApiStatus }) {
  const { shown, controls } = useMany(status.groups, (group) => group.id, 'groups');
  return (
    <Section id="groups" title="Groups" count={status.groups.length}>
      {controls}
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
            {shown.map((group) => (
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

export function WaitGroups({ status }: { status: ApiStatus }) {
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

export function OnceKeys({ status }: { status: ApiStatus }) {
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
