/**
 * The docs' examples are real files under docs/examples (type-checked by `tsc -p .` in
 * `npm test`); every page shows them verbatim, and every example is shown somewhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../infra/localstack/localstack.ts';

const docs = join(projectRoot, 'docs');
const pages = ['item-format.md', ...readdirSync(join(docs, 'primitives')).map((page) => join('primitives', page))];
const EXAMPLE = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g;

describe('docs', () => {
  it.each(pages)('%s shows its examples exactly as they are in docs/examples', (page) => {
    const text = readFileSync(join(docs, page), 'utf8');

    for (const [, path, code] of text.matchAll(EXAMPLE)) {
      expect(code, `${page} shows an outdated ${path}`).toBe(readFileSync(join(projectRoot, path!), 'utf8'));
    }
  });

  it('shows every example on some page', () => {
    const shown = new Set(pages.flatMap((page) => [...readFileSync(join(docs, page), 'utf8').matchAll(EXAMPLE)].map(([, path]) => path)));

    for (const example of readdirSync(join(docs, 'examples'))) expect(shown).toContain(`docs/examples/${example}`);
  });
});
