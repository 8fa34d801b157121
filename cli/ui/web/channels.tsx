/** The Channels section: each channel's queued, in-flight and closed state, as `fnmesh status` shows it. */
import { useMany } from './many.tsx';
import { Section } from './parts.tsx';
import type { ApiStatus } from './types.ts';

export function Channels({ status }: { status: ApiStatus }) {
  const { shown, controls } = useMany(status.channels, (channel) => channel.name, 'channels');
  return (
    <Section id="channels" title="Channels" count={status.channels.length}>
      {controls}
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
          {shown.map((channel) => (
            <tr key={channel.name} data-channel={channel.name}>
              <th scope="row">{channel.name}</th>
              <td class="num" data-field="queued">
                {channel.queued}
              </td>
              <td class="num" data-field="sent">
                {channel.sent}
              </td>
              <td class="num" data-field="received">
                {channel.received}
              </td>
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
