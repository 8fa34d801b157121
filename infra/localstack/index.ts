/**
 * The `fnmesh/local` entry point: the Docker-free local cloud (LocalStack in host mode with the
 * fnmesh plugin) for programmatic use: bring it up, take it down, ask whether it is up and strict,
 * read its log. The `fnmesh local …` commands and `fnmesh/testing`'s suite helpers sit on these.
 */
export {
  down,
  type DownOptions,
  endpointOf,
  health,
  type Health,
  LOCALSTACK_ENDPOINT,
  LOCALSTACK_PORT,
  type LocalStackInstance,
  LocalStackStartError,
  localStatus,
  type LocalStatus,
  projectDir,
  logFile,
  logFileOf,
  logTail,
  runningPid,
  showLog,
  strictByDefault,
  strictStatus,
  type StrictStatus,
  up,
  type UpOptions,
  type UpResult,
} from './localstack.ts';
