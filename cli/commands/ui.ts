/**
 * `fnmesh ui [--port N]`: a live dashboard of the stage's mesh in the browser (cli/ui/): channels,
 * locks, groups, wait groups, Once keys, recent runs and dead letters, read-only but for the
 * dead letters' redrive (on stage local, or anywhere with `--allow-actions`). The server listens on
 * 127.0.0.1 only and prints the URL to open, which carries the session's token; it runs until
 * interrupted (Ctrl-C).
 */
import { loadUiAssets } from '../ui/assets.ts';
import { meshUiData } from '../ui/data.ts';
import { startUiServer, type UiServer } from '../ui/server.ts';
import type { MeshContext } from '../context.ts';
import type { Output } from '../output.ts';

export interface UiOptions {
  /** 0: any free port. */
  port: number;
  /** Between two status reads while a page is open (ms). @default 1000 */
  pollMs?: number;
  /** Allow the dead letters' redrive on a stage other than `local`. @default false */
  allowActions?: boolean;
}

/**
 * Starts the dashboard's server for `ctx`'s stage and prints its URL (with `--json`: one document
 * `{ url, port, stage }`). @returns the running server (the CLI closes it on SIGINT/SIGTERM)
 * @throws the listen error if the port is taken
 */
export async function ui(ctx: MeshContext, out: Output, options: UiOptions): Promise<UiServer> {
  const data = meshUiData(ctx);
  const server = await startUiServer({
    data,
    assets: await loadUiAssets(),
    port: options.port,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    allowActions: options.allowActions ?? false,
  });
  out.result({ url: server.url, port: server.port, stage: ctx.stage }, () => {
    const actions =
      ctx.stage === 'local' || options.allowActions ? 'redrive of dead letters allowed' : 'read-only (--allow-actions to redrive)';
    out.say(`fnmesh ui for stage ${ctx.stage} (${ctx.tableName}), ${actions}, on 127.0.0.1 only:`);
    out.say(`  ${server.url}`);
    out.say("open it in a browser (the #token part is this session's key); Ctrl-C stops it");
  });
  return {
    ...server,
    async close() {
      await server.close();
      data.close?.();
    },
  };
}
