// fnmesh runtime shim: module resolution hooks registered by worker.cjs.
//
// Node's ES module resolver ignores NODE_PATH; AWS's nodejs18.x and later runtimes make `import`
// search NODE_PATH too, which is how an .mjs handler finds the AWS SDK the runtime provides. This
// hook does the same: a bare specifier that the ordinary resolution (the function's own
// node_modules first, so a bundled copy wins) cannot find is looked up in each NODE_PATH
// directory in order.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const searchDirs = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);

function isBare(specifier) {
  return !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z\d+.-]*:)/.test(specifier);
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw err;
    for (const dir of searchDirs) {
      // Resolving from a file directly inside `dir` searches `dir/node_modules`, then the parent's
      // node_modules, which is `dir` itself when `dir` is a node_modules directory.
      const parentURL = pathToFileURL(path.join(dir, 'node-path-import.mjs')).href;
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {
        // not in this directory: try the next one
      }
    }
    throw err;
  }
}
