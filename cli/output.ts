/**
 * Output for people and for scripts: with `--json`, one JSON document on stdout and nothing
 * else there; otherwise readable lines, progress on stderr while a long run goes, and tables.
 */
import Table from 'cli-table3';
import pc from 'picocolors';

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

export function output(json: boolean): Output {
  const interactive = !json && process.stderr.isTTY;
  return {
    json,
    say: (line) => (json ? process.stderr : process.stdout).write(`${line}\n`),
    progress(label, done, total, startedAt) {
      if (!interactive && done !== total) return;
      const seconds = Math.max(0.001, (Date.now() - startedAt) / 1000);
      const line = `${label} ${done}/${total} (${(done / seconds).toFixed(1)}/s)`;
      if (interactive) process.stderr.write(`\r${pc.dim(line)}${done === total ? '\n' : ''}`);
      else if (!json) process.stderr.write(`${line}\n`);
    },
    table(head, rows) {
      if (json) return;
      const table = new Table({ head: head.map((cell) => pc.bold(cell)) });
      table.push(...rows.map((row) => row.map(String)));
      process.stdout.write(`${table.toString()}\n`);
    },
    result(document, summary) {
      if (json) process.stdout.write(`${JSON.stringify(document)}\n`);
      else if (summary) summary();
      else process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    },
  };
}
