#!/usr/bin/env node
// The fnmesh CLI: runs cli/main.ts through tsx's loader (the project ships TypeScript sources).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
