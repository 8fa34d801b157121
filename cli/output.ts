/**
 * Output for people and for scripts: with `--json`, one JSON document on stdout and nothing
 * else there; otherwise readable lines, progress on stderr while a long run goes, and tables.
 * Colour only on a terminal: piped, redirected, `NO_COLOR` or `TERM=dumb`, no escape codes at all
 * (`FORCE_COLOR` forces it on); a reader that closes the pipe early (`fnmesh status | head -1`)
 * ends the CLI quietly.
 */
import Table from 'cli-table3';
import { createColors } from 'picocolors';

export interface Output {
  json: boolean;
  /** A line for people (stderr when `--json`, so stdout stays one document). */
  say(line: string): void;
  /** done/total with a rate, redrawn in place on a terminal. */
  progress(label: string, done: number, total: number, startedAt: number): void;
  table(head: string[], rows: (string | number)[][]): void;
  /** The command's result: the JSON document, or a summary for people. */
  result(document: unknown, summary?: () => void): void;
}

/** Whether to colour what goes to `stream`: https://no-color.org, then FORCE_COLOR, then a terminal. */
export function colourFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/**
 * Ends the process quietly (exit 0) when the reader of stdout or stderr goes away (EPIPE), as
 * Unix tools do, instead of dying with a stack trace. Call once, at start.
 */
export function endQuietlyOnClosedPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams)
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
}

export function output(json: boolean, stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Output {
  const interactive = !json && process.stderr.isTTY;
  const pc = createColors(colourFor(stdout));
  const dim = createColors(colourFor(process.stderr)).dim;
  return {
    json,
    say: (line) => (json ? process.stderr : stdout).write(`${line}\n`),
    progress(label, done, total, startedAt) {
      if (!interactive && done !== total) return;
      const seconds = Math.max(0.001, (Date.now() - startedAt) / 1000);
      const line = `${label} ${done}/${total} (${(done / seconds).toFixed(1)}/s)`;
      if (interactive) process.stderr.write(`\r${dim(line)}${done === total ? '\n' : ''}`);
      else if (!json) process.stderr.write(`${line}\n`);
    },
    table(head, rows) {
      if (json) return;
      // cli-table3 colours its borders and heads itself unless told not to.
      const style = pc.isColorSupported ? {} : { style: { head: [], border: [] } };
      const table = new Table({ head: head.map((cell) => pc.bold(cell)), ...style });
      table.push(...rows.map((row) => row.map(String)));
      stdout.write(`${table.toString()}\n`);
    },
    result(document, summary) {
      if (json) stdout.write(`${JSON.stringify(document)}\n`);
      else if (summary) summary();
      else stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    },
  };
}
