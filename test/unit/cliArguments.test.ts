/**
 * Fuzzing the CLI's arguments (fast-check): malformed, oversized and wrongly typed arguments are
 * refused by the parser with a usage error naming the problem — before any command runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CommanderError } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.ts';

const COMMANDS = ['up', 'down', 'deploy', 'demo', 'bench', 'status', 'dlq', 'trace', 'ui', 'local', 'init', 'help'];
const SCENARIOS = ['hello', 'channel', 'rpc', 'counter', 'squares', 'pool', 'shards', 'all'];

/** Parses `args` with a program that throws instead of exiting and runs no action. */
async function parse(args: string[]): Promise<{ error: unknown; ran: boolean; stderr: string }> {
  let ran = false;
  let stderr = '';
  const program = buildProgram((program) =>
    program.exitOverride().configureOutput({ writeOut: () => {}, writeErr: (text) => (stderr += text) }),
  );
  // No action may run: replace every command's action with a flag.
  for (const command of program.commands) command.action(() => void (ran = true));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { error: undefined, ran, stderr };
  } catch (error) {
    return { error, ran, stderr };
  }
}

/** What the CLI's parser refuses as a count (the same test it applies: a safe integer ≥ 1). */
const isCount = (text: string) => Number.isSafeInteger(Number(text)) && Number(text) >= 1;
const notPositiveInteger = fc.oneof(
  fc.string({ maxLength: 20 }).filter((text) => !isCount(text)),
  fc.integer({ max: 0 }).map(String),
  fc.double({ noInteger: true, noNaN: true }).map(String),
  fc.constant('9'.repeat(400)),
);
const numericOption = fc.constantFrom('--workers', '--increments', '--tasks', '--shards', '--keys');

describe('fnmesh arguments', () => {
  it('refuses a numeric option that is not a positive integer, naming the option', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCENARIOS), numericOption, notPositiveInteger, async (scenario, option, value) => {
        const { error, ran, stderr } = await parse(['demo', scenario, option, value]);
        expect(ran).toBe(false);
        expect(error).toBeInstanceOf(CommanderError);
        expect((error as CommanderError).code).toBe('commander.invalidArgument');
        expect(stderr).toContain(option);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses unknown commands, scenarios and options, and oversized or odd arguments, without running anything', async () => {
    const word = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ minLength: 5_000, maxLength: 20_000 }), fc.constant('\u0000'));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          word.filter((command) => !COMMANDS.includes(command) && !command.startsWith('-')).map((command) => [command]),
          word.filter((scenario) => !SCENARIOS.includes(scenario) && !scenario.startsWith('-')).map((scenario) => ['demo', scenario]),
          fc
            .tuple(fc.constantFrom('status', 'demo hello', 'trace abc'), word)
            .map(([command, option]) => [...command.split(' '), `--x${option}`]),
          fc.tuple(word, fc.constantFrom('list', 'redrive')).map(([channel]) => ['dlq', channel, 'explode']),
          fc.constant(['demo', 'squares', '--fail-once', '3,x']),
          fc.constant(['dlq']),
        ),
        async (args) => {
          const { error, ran } = await parse([...args]);
          expect(ran).toBe(false);
          expect(error).toBeInstanceOf(CommanderError);
          expect((error as CommanderError).exitCode).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses a ui port that is not a port number', async () => {
    for (const port of ['-1', '65536', '80.5', 'http', '']) {
      const { error, ran } = await parse(['ui', '--port', port]);
      expect(ran).toBe(false);
      expect((error as CommanderError).code).toBe('commander.invalidArgument');
    }
    expect(await parse(['ui', '--port', '0'])).toMatchObject({ error: undefined, ran: true });
  });

  it('accepts well-formed arguments (the action would run)', async () => {
    expect(await parse(['demo', 'counter', '--workers', '3', '--increments', '10'])).toMatchObject({ error: undefined, ran: true });
    expect(await parse(['--json', 'dlq', 'ping', 'list', '--max', '5'])).toMatchObject({ error: undefined, ran: true });
  });
});

describe('fnmesh --json', () => {
  /** Runs the CLI as a user would (bin/fnmesh.js), with no LocalStack needed: usage errors come first. */
  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/fnmesh.js', ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('prints one JSON document on stdout for a usage error too, and exits 1', async () => {
    for (const args of [
      ['--json', 'demo', 'squares', '--tasks', '0'],
      ['demo', 'nope', '--json'],
      ['--json', '--no-such-option'],
    ]) {
      const { code, stdout, stderr } = await run(args);
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ error: { name: 'UsageError', message: expect.any(String) } });
      expect(stderr).not.toBe(''); // the usage, for a human
    }
  });

  it('without --json, a usage error goes to stderr alone', async () => {
    const { code, stdout, stderr } = await run(['demo', 'squares', '--tasks', '0']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('--tasks');
  });
});
