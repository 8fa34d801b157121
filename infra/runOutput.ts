/**
 * Where `npm run bench`, `npm run bench:hot` and `npm run chaos` write. Every run writes its
 * results (and the bench its report) into an ignored folder, `<tool>/out/` or the one `--out <dir>`
 * names, and says where. Only `--publish` also writes the published files the docs cite
 * (`bench/results/`, `chaos/results/`, `docs/BENCHMARKS.md` and its charts), so a run someone makes
 * to try things leaves `git status` clean; and only a full run may publish: a quick or partial
 * run's figures are not the ones the docs quote, so `--publish` on one is refused before any work
 * (exit 2).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from './localstack/localstack.ts';

/** The flags, for a script whose own `parseArgs` is strict and must accept them. */
export const RUN_OUTPUT_OPTIONS = {
  publish: { type: 'boolean', default: false },
  out: { type: 'string' },
} as const;

export interface RunOutput {
  /** The folder this run writes into (ignored by git unless `--out` names another). */
  dir: string;
  /** Whether this run also writes the published files. */
  publish: boolean;
}

/**
 * `--publish` and `--out <dir>` of this run of `tool` (`bench` or `chaos`: the default folder is
 * `<tool>/out/`). `unpublishable` says why this run may not publish (`'a quick run'`); with
 * `--publish` it prints that and exits 2.
 */
export function runOutput(tool: string, options: { unpublishable?: string | undefined; args?: string[] } = {}): RunOutput {
  const { values } = parseArgs({
    args: options.args ?? process.argv.slice(2),
    options: RUN_OUTPUT_OPTIONS,
    strict: false,
    allowPositionals: true,
  });
  const publish = values.publish === true;
  if (publish && options.unpublishable) {
    process.stderr.write(
      `--publish writes the figures the docs cite, which come from a full run; this is ${options.unpublishable}. ` +
        `Leave out --publish (the results go to ${shown(outDir(tool, values.out))}), or publish a full run.\n`,
    );
    process.exit(2);
  }
  return { dir: outDir(tool, values.out), publish };
}

function outDir(tool: string, out: string | boolean | undefined): string {
  return typeof out === 'string' ? resolve(out) : join(projectRoot, tool, 'out');
}

/** A path as the logs show it: relative to the project where it is inside it. */
export function shown(path: string): string {
  const inside = relative(projectRoot, path);
  return inside.startsWith('..') || inside === '' ? path : inside;
}

/**
 * Writes `text` to `<dir>/<name>` and, if this run publishes, to `published` (a path under the
 * project) too. Returns the paths written.
 */
export function writeRunFile(output: RunOutput, name: string, text: string, published: string): string[] {
  const paths = [join(output.dir, name), ...(output.publish ? [join(projectRoot, published)] : [])];
  for (const path of paths) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return paths;
}

/** The closing line of a run: where it wrote, and whether the published files were left alone. */
export function wroteLine(output: RunOutput, paths: string[]): string {
  const where = `wrote ${paths.map(shown).join(', ')}`;
  return output.publish ? where : `${where}; published files untouched (a full run with --publish updates them)`;
}
