/**
 * fnmesh: drive and watch the mesh (the commands are in program.ts). Every command takes `--json`
 * and then prints one JSON document on stdout; errors too, a usage error included.
 */
import { CommanderError } from 'commander';
import { endQuietlyOnClosedPipe } from './output.ts';
import { buildProgram } from './program.ts';

endQuietlyOnClosedPipe();

// Read before parsing: a usage error ends the parse before the options are known.
const json = process.argv.slice(2).includes('--json');
// Commander throws instead of exiting, so that a usage error is reported here too.
const program = buildProgram((program) => program.exitOverride());
program.parseAsync().catch((err: Error) => {
  if (err instanceof CommanderError) {
    // Commander has written its message (or the help asked for) already.
    if (err.exitCode === 0) process.exit(0);
    if (json) process.stdout.write(`${JSON.stringify({ error: { name: 'UsageError', message: err.message, code: err.code } })}\n`);
    process.exit(err.exitCode);
  }
  if (json) process.stdout.write(`${JSON.stringify({ error: { name: err.name, message: err.message } })}\n`);
  else process.stderr.write(`fnmesh: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
