/**
 * Links from a hop to its logs (issue 16, item 4): the AWS console's page of a Lambda
 * invocation's log stream, filtered to its request id. Used by `fnmesh trace` and `fnmesh ui` on
 * stages other than `local` (LocalStack has no console).
 */
import type { HopLogs } from '../lib/trace/Tracer.ts';

/** The console's own escaping of a path part: URI-encoded twice, then `%` written as `$`. */
function consoleEscape(text: string): string {
  return encodeURIComponent(encodeURIComponent(text)).replace(/%/g, '$');
}

/**
 * The CloudWatch console's page of `logs.stream` in `logs.group`, showing the lines with the
 * invocation's request id, in `region`.
 */
export function consoleLogUrl(region: string, logs: HopLogs): string {
  const query = `${encodeURIComponent('?filterPattern=').replace(/%/g, '$')}${consoleEscape(`"${logs.requestId}"`)}`;
  return (
    `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${encodeURIComponent(region)}` +
    `#logsV2:log-groups/log-group/${consoleEscape(logs.group)}/log-events/${consoleEscape(logs.stream)}${query}`
  );
}

/** The region a client of the stage talks to (the SDK resolves it lazily). */
export async function regionOf(client: { config: { region: string | (() => Promise<string>) } }): Promise<string> {
  const { region } = client.config;
  return typeof region === 'function' ? await region() : region;
}
