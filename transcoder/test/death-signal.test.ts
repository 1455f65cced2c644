import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deathSignalWrapper } from '../death-signal.ts';

const run = promisify(execFile);
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-death-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('deathSignalWrapper', () => {
  it('runs the real ffmpeg through setpriv even when its path has spaces and quotes, and is reused', async () => {
    const { stdout: which } = await run('sh', ['-c', 'command -v ffmpeg']);
    const odd = path.join(tmp, "it's a dir");
    await mkdir(odd);
    await symlink(which.trim(), path.join(odd, 'ff mpeg'));
    const wrapper = await deathSignalWrapper(path.join(odd, 'ff mpeg'), 'setpriv');
    const { stdout } = await run(wrapper, ['-hide_banner', '-version']);
    expect(stdout).toMatch(/^ffmpeg version/);
    expect((await stat(wrapper)).mode & 0o111).not.toBe(0);
    expect(await deathSignalWrapper(path.join(odd, 'ff mpeg'), 'setpriv')).toBe(wrapper);
    await rm(wrapper, { force: true }); // this one points into the test's temp dir
  });
});
