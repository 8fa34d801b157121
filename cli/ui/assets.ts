/**
 * The page's files for `fnmesh ui`: index.html, style.css and one JavaScript bundle of the Preact
 * app in web/ (esbuild: TSX with Preact's automatic JSX runtime, ESM, minified, no source map, no
 * CDN: Preact is inside the bundle, so the page works offline).
 *
 * In this repository the bundle is built in memory when the server starts (about 50 ms); the
 * package carries it prebuilt in `web/app.js` beside this module's compiled file (bundle.ts, run by
 * `npm run build`), since esbuild is a development dependency.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UiAssets } from './server.ts';

const webDir = new URL('./web/', import.meta.url);

/** Bundles web/main.tsx into one ES module (the page's only script). */
export async function bundleUiScript(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('main.tsx', webDir))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The page's three files: the prebuilt bundle if there is one, else bundled now. */
export async function loadUiAssets(): Promise<UiAssets> {
  const read = (name: string) => readFileSync(new URL(name, webDir), 'utf8');
  const prebuilt = new URL('app.js', webDir);
  return {
    html: read('index.html'),
    css: read('style.css'),
    js: existsSync(prebuilt) ? readFileSync(prebuilt, 'utf8') : await bundleUiScript(),
  };
}
