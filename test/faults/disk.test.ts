import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchUploadToken } from '../helpers/tus-upload.ts';
import { startDeployment, type Deployment } from './deployment.ts';

describe('faults: a data disk with less free space than the reserve', () => {
  let d: Deployment;
  beforeAll(async () => {
    // A reserve larger than any disk stands for a full one without filling the machine's disk.
    d = await startDeployment({ DISK_RESERVE_BYTES: String(2 ** 50) });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses new uploads with JSON 507 INGEST_DISK_FULL, says so in /readyz, and leaves no file behind', async () => {
    const token = await fetchUploadToken(d.url, 'fault-disk');
    const res = await fetch(`${d.url}/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-token': token, 'upload-metadata': `title ${btoa('full')}` },
    });
    expect(res.status).toBe(507);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INGEST_DISK_FULL');
    expect(body.error.message).not.toMatch(/ENOSPC|127\.0\.0\.1|\/tmp\//);
    const ready = await fetch(`${d.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('disk');
    expect(await d.unreferencedFiles()).toEqual([]);
  });
});
