// The worker thread entry of bench/lockContenders.ts: TypeScript through tsx, as in the parent.
import { register } from 'tsx/esm/api';

register();
await import('./lockContenders.ts');
