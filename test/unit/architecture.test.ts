/**
 * The architecture as a newcomer reads it, checked on every run: the import graph has no cycle;
 * `lib/` (the library users import) reaches nothing outside itself; the tools (`bench/`, `chaos/`,
 * `cli/`) do not lean on the tests or on the Lambda handlers; and a long file in `lib/` says at
 * its top why it is long.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';

const SOURCE_FOLDERS = ['lib', 'testing', 'functions', 'cli', 'bench', 'chaos', 'infra', 'test', 'docs/examples'];
const SKIPPED = new Set(['node_modules', '.esbuild', '.serverless', 'build', 'lambda-sdk']);
/** A file in lib/ longer than this must give its reason in its header comment, in a line `Length: …`. */
const LIB_LINES = 400;
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

function sourceFiles(folder: string): string[] {
  const path = join(projectRoot, folder);
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name) || entry.name.startsWith('.')) return [];
    const child = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(child);
    return /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [child] : [];
  });
}

/** Project-relative paths of the project files `file` imports (packages and node: are left out). */
function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(IMPORT)]
    .map((match) => match[1] ?? match[2] ?? match[3]!)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(projectRoot, resolve(projectRoot, dirname(file), specifier)));
}

/** One cycle in the graph, as the files along it, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** This file is left out: its own samples of import lines are not imports. */
const files = SOURCE_FOLDERS.flatMap(sourceFiles).filter((file) => file !== 'test/unit/architecture.test.ts');
const graph = new Map(files.map((file) => [file, importsOf(file, readFileSync(join(projectRoot, file), 'utf8'))]));
const arrows = [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })));
const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

describe('architecture', () => {
  it('reads the source it checks (the import pattern finds imports)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('lib/index.ts')!.length).toBeGreaterThan(10);
    expect(importsOf('cli/x.ts', "import { a } from '../lib/a.ts';\nexport * from './b.ts';\nawait import('../c.ts');")).toEqual([
      'lib/a.ts',
      'cli/b.ts',
      'c.ts',
    ]);
  });

  it('finds a cycle where there is one, and only then', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('has an import graph without cycles', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('imports only files that exist', () => {
    const missing = arrows.filter(({ to }) => !graph.has(to) && !statSync(join(projectRoot, to), { throwIfNoEntry: false }));
    expect(missing).toEqual([]);
  });

  it('keeps lib/ self-contained: the library imports nothing outside itself', () => {
    expect(arrows.filter(({ from, to }) => inside(from, 'lib') && !inside(to, 'lib'))).toEqual([]);
  });

  it('keeps the tools off the tests and the handlers', () => {
    const tools = ['bench', 'chaos', 'cli'];
    const offLimits = ['test', 'functions'];
    const wrong = arrows.filter(
      ({ from, to }) => tools.some((tool) => inside(from, tool)) && offLimits.some((folder) => inside(to, folder)),
    );
    expect(wrong).toEqual([]);
  });

  it('gives the reason at the top of any file in lib/ over 400 lines', () => {
    const unexplained = files
      .filter((file) => inside(file, 'lib'))
      .filter((file) => {
        const text = readFileSync(join(projectRoot, file), 'utf8');
        const header = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? '';
        return text.split('\n').length > LIB_LINES && !/\n \* Length: \S/.test(header);
      });
    expect(unexplained).toEqual([]);
  });
});
