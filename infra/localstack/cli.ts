/**
 * `npm run local:up | local:down | local:logs [-- --follow] | local:venv`: LocalStack in host mode.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { down, ensureLambdaSdk, ensureVenv, logFile, logTail, up } from './localstack.ts';

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const result = await up();
      console.log(
        result.started
          ? `LocalStack ready at ${result.endpoint} (pid ${result.pid}) in ${result.seconds.toFixed(1)} s`
          : `LocalStack already up at ${result.endpoint}${result.pid ? ` (pid ${result.pid})` : ' (not started by fnmesh)'}`,
      );
      return 0;
    }
    case 'venv':
      await ensureLambdaSdk(); // the SDK Lambda functions get from their runtime: installed with the venv
      console.log(await ensureVenv());
      return 0;
    case 'down':
      await down();
      return 0;
    case 'logs':
      if (!existsSync(logFile)) {
        console.error(`no log yet at ${logFile}`);
        return 1;
      }
      if (args.includes('--follow') || args.includes('-f')) {
        const tail = spawn('tail', ['-n', '100', '-f', logFile], { stdio: 'inherit' });
        return new Promise((done) => tail.on('exit', (code) => done(code ?? 0)));
      }
      console.log(logTail(200));
      return 0;
    default:
      console.error('usage: localstack up | down | logs [--follow] | venv');
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
