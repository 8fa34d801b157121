/**
 * The page of `fnmesh ui`, prebuilt for the package: `npm run build` runs this after tsc, writing
 * index.html, style.css and the bundled app.js into dist/cli/ui/web/, beside the compiled
 * assets module, which serves them as they are (the installed package has no esbuild).
 *
 *   tsx cli/ui/bundle.ts [outDir]   (default dist/cli/ui/web)
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleUiScript } from './assets.ts';

const webDir = fileURLToPath(new URL('./web/', import.meta.url));
const outDir = process.argv[2] ?? fileURLToPath(new URL('../../dist/cli/ui/web/', import.meta.url));

mkdirSync(outDir, { recursive: true });
for (const name of ['index.html', 'style.css']) copyFileSync(join(webDir, name), join(outDir, name));
writeFileSync(join(outDir, 'app.js'), await bundleUiScript());
process.stdout.write(`fnmesh ui: page written to ${outDir}\n`);
