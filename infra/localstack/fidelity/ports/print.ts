/**
 * Python's `print` for the ports: one raw line on stdout. (Node's `console.log` in Lambda prefixes
 * each line with a timestamp, request id and level; the suites parse the Python handlers' log lines
 * as JSON, so the ports must log them bare, as the handlers they stand in for do.)
 */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
