// Worker-thread bootstrap for FfmpegPool (plain JS on purpose). Node 20 does not apply `--import tsx` from a Worker's
// execArgv (the thread fails with "Unknown file extension .ts"), and module hooks are per thread, so the thread
// registers tsx itself before loading the TypeScript entry. Works the same under `node --import tsx` and vitest.
import { register } from 'tsx/esm/api';

register();
await import('./pool-thread.ts');
