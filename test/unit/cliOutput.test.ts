/**
 * The CLI's output where it is not a terminal: no colour codes when piped or under NO_COLOR, and
 * a reader that closes the pipe early ends the CLI quietly instead of with an EPIPE stack trace.
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';
import { colourFor, output } from '../../cli/output.ts';

const ESCAPE = '\u001b[';

describe('colourFor', () => {
  it.each([
    ['a terminal', { isTTY: true }, {}, true],
    ['a pipe', {}, {}, false],
    ['a terminal with NO_COLOR', { isTTY: true }, { NO_COLOR: '1' }, false],
    ['a terminal with an empty NO_COLOR (unset, per no-color.org)', { isTTY: true }, { NO_COLOR: '' }, true],
    ['a dumb terminal', { isTTY: true }, { TERM: 'dumb' }, false],
    ['a pipe with FORCE_COLOR', {}, { FORCE_COLOR: '1' }, true],
    ['a terminal with FORCE_COLOR=0', { isTTY: true }, { FORCE_COLOR: '0' }, false],
    ['NO_COLOR over FORCE_COLOR', { isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
  ])('%s → %s', (_, stream, env, expected) => {
    expect(colourFor(stream, env)).toBe(expected);
  });
});

describe('output to a pipe', () => {
  const saved = { FORCE_COLOR: process.env.FORCE_COLOR, NO_COLOR: process.env.NO_COLOR };
  beforeEach(() => {
    delete process.env.FORCE_COLOR;
    delete process.env.NO_COLOR;
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  function captured(stream: { isTTY?: boolean }): { out: ReturnType<typeof output>; text: () => string } {
    const sink = Object.assign(new PassThrough(), stream);
    const chunks: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    return { out: output(false, sink), text: () => Buffer.concat(chunks).toString('utf8') };
  }

  it('draws tables without colour codes when stdout is not a terminal', () => {
    const { out, text } = captured({});
    out.table(['channel', 'queued'], [['tasks', 3]]);
    expect(text()).toContain('tasks');
    expect(text()).not.toContain(ESCAPE);
  });

  it('colours them on a terminal (the check above can fail)', () => {
    const { out, text } = captured({ isTTY: true });
    out.table(['channel', 'queued'], [['tasks', 3]]);
    expect(text()).toContain(ESCAPE);
  });

  it('draws none on a terminal either under NO_COLOR', () => {
    process.env.NO_COLOR = '1';
    const { out, text } = captured({ isTTY: true });
    out.table(['channel', 'queued'], [['tasks', 3]]);
    expect(text()).not.toContain(ESCAPE);
  });
});

/** Runs a writer that floods stdout, closes the pipe after its first chunk, and reports how it ended. */
function floodIntoClosedPipe(guarded: boolean): Promise<{ code: number | null; stderr: string }> {
  const script = [
    "import { endQuietlyOnClosedPipe } from './cli/output.ts';",
    guarded ? 'endQuietlyOnClosedPipe();' : '',
    "const chunk = 'x'.repeat(65536) + '\\n';",
    'for (;;) if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('a closed pipe', () => {
  it('ends the CLI quietly, exit 0, nothing on stderr', async () => {
    const { code, stderr } = await floodIntoClosedPipe(true);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('would otherwise end in an EPIPE error (the check above can fail)', async () => {
    const { code, stderr } = await floodIntoClosedPipe(false);
    expect(code).not.toBe(0);
    expect(stderr).toContain('EPIPE');
  });
});
