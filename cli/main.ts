/**
 * fnmesh: drive and watch the mesh (the commands are in program.ts). Every command takes `--json`
 * and then prints one JSON document on stdout; errors too.
 */
import { endQuietlyOnClosedPipe } from './output.ts';
import { buildProgram } from './program.ts';

endQuietlyOnClosedPipe();

const program = buildProgram();
program.parseAsync().catch((err: Error) => {
  if (program.opts<{ json: boolean }>().json)
    process.stdout.write(`${JSON.stringify({ error: { name: err.name, message: err.message } })}\n`);
  else process.stderr.write(`fnmesh: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
