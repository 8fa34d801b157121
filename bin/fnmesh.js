#!/usr/bin/env node
// The fnmesh CLI's launcher. In this repository (cli/main.ts present: the sources, never shipped)
// it runs the TypeScript through tsx's loader, so that an edit is live and a stale dist/ (left by
// `npm pack`) is never run. In the installed package (no .ts sources) it runs the compiled
// dist/cli/main.js; tsx is then not needed.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
