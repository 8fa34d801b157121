/**
 * `npm run local:up | local:down | local:logs [-- --follow] | local:venv`: LocalStack in host mode
 * (the same code as `fnmesh local ...`, without the CLI's dependencies; `status` prints JSON).
 */
import { down, ensureLambdaSdk, ensureVenv, localStatus, logFile, showLog, up } from './localstack.ts';

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const result = await up();
      console.log(
        result.started
          ? `LocalStack ready at ${result.endpoint} (pid ${result.pid}) in ${result.seconds.toFixed(1)} s`
          : `LocalStack already up at ${result.endpoint}${result.pid ? ` (pid ${result.pid})` : ' (started from another project)'}`,
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
    case 'status':
      console.log(JSON.stringify(await localStatus(), null, 2));
      return 0;
    case 'logs':
      if (!(await showLog({ follow: args.includes('--follow') || args.includes('-f') }))) {
        console.error(`no log yet at ${logFile}`);
        return 1;
      }
      return 0;
    default:
      console.error('usage: localstack up | down | status | logs [--follow] | venv');
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
