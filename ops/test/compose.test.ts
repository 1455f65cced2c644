import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV_KEYS } from '../config.ts';

/** No Docker engine runs in CI: the compose file and Dockerfile are checked structurally instead. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (f: string): Promise<string> => readFile(path.join(ROOT, f), 'utf8');

/**
 * Variables compose passes that other issues add to ops/config.ts (names as in their branches at the time of
 * writing). After merging, each must be in ENV_KEYS; delete it here then, so a misspelt name fails this test.
 */
const PENDING_ENV: Readonly<Record<string, string>> = {};

const Healthcheck = z.object({
  test: z.array(z.string()).min(1).optional(),
  disable: z.boolean().optional(),
  interval: z.string().optional(),
});
const Service = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  volumes: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
  container_name: z.string().optional(),
  healthcheck: Healthcheck.optional(),
  depends_on: z
    .record(z.string(), z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }))
    .optional(),
  profiles: z.array(z.string()).optional(),
});
const Compose = z.object({ services: z.record(z.string(), Service), volumes: z.record(z.string(), z.unknown().nullable()) });
type ComposeFile = z.infer<typeof Compose>;

describe('docker-compose.yml', () => {
  let c: ComposeFile;
  let raw: string;
  beforeAll(async () => {
    raw = await read('docker-compose.yml');
    c = Compose.parse(parse(raw, { merge: true }));
  });

  it('defines every service with a health check', () => {
    expect(Object.keys(c.services).sort()).toEqual(['api', 'backup', 'clamav', 'minio', 'minio-init', 'postgres', 'redis', 'worker']);
    for (const [name, s] of Object.entries(c.services)) {
      if (name === 'backup') expect(s.healthcheck?.disable).toBe(true);
      else if (name === 'minio-init')
        expect(s.depends_on?.['minio']?.condition).toBe('service_healthy'); // one-shot
      else expect(s.healthcheck?.test?.length, name).toBeGreaterThan(0);
    }
    expect(c.services['clamav']?.image).toMatch(/^clamav\/clamav:/);
    expect(c.services['postgres']?.image).toMatch(/^postgres:15/);
  });

  it('starts api and workers only after every backing service is healthy, and lets workers scale', () => {
    for (const name of ['api', 'worker']) {
      const deps = c.services[name]?.depends_on ?? {};
      expect(Object.keys(deps).sort(), name).toEqual(['clamav', 'minio-init', 'postgres', 'redis']);
      // minio-init runs only once MinIO is healthy and exits after creating the buckets.
      for (const [dep, d] of Object.entries(deps))
        expect(d.condition).toBe(dep === 'minio-init' ? 'service_completed_successfully' : 'service_healthy');
    }
    const worker = c.services['worker']!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.command).toContain('worker');
    expect(c.services['api']?.command).toContain('api');
  });

  it('gives workers no shared volume: each has only its own scratch /data, and the api keeps its volume for tus uploads', () => {
    const worker = c.services['worker']!;
    expect(worker.volumes).toEqual(['/data']);
    expect(worker.environment?.['STORAGE_DRIVER']).toBe('s3');
    expect(c.services['api']?.volumes).toEqual(['appdata:/data']);
    for (const [name, s] of Object.entries(c.services)) {
      if (name === 'api' || name === 'backup') continue;
      expect(s.volumes ?? [], name).not.toContain('appdata:/data');
    }
  });

  it('keeps state in declared named volumes', () => {
    const declared = new Set(Object.keys(c.volumes));
    // Workers keep no state (only scratch, tested above).
    for (const name of ['api', 'postgres', 'redis', 'minio', 'clamav']) {
      const named = (c.services[name]?.volumes ?? []).map((v) => v.split(':')[0]!).filter((v) => !v.startsWith('.') && !v.startsWith('/'));
      expect(named.length, name).toBeGreaterThan(0);
      for (const v of named) expect(declared.has(v), `${name} uses undeclared volume ${v}`).toBe(true);
    }
  });

  it('passes the app only variables ops/config.ts knows (or another issue is adding)', () => {
    for (const name of ['api', 'worker', 'backup']) {
      for (const key of Object.keys(c.services[name]?.environment ?? {})) {
        expect(ENV_KEYS.includes(key) || key in PENDING_ENV, `${name}: ${key} is not read by ops/config.ts`).toBe(true);
      }
    }
    expect(ENV_KEYS).toContain('DATABASE_URL');
  });

  it('runs Redis so queued jobs survive a restart and are never evicted', () => {
    const cmd = c.services['redis']?.command ?? [];
    const flag = (name: string): string | undefined => cmd[cmd.indexOf(name) + 1];
    expect(cmd[0]).toBe('redis-server');
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--appendfsync')).toBe('everysec');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    // The append-only file lives in a named volume, so it outlives the container.
    expect(c.services['redis']?.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('documents every required ${VAR} in .env.example', async () => {
    const example = await read('.env.example');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const required = [...raw.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const v of required) expect(documented.has(v), `${v} missing from .env.example`).toBe(true);
  });
});

describe('ops/setup.sh', () => {
  it('starts its own Redis with an fsynced append-only file and noeviction', async () => {
    const script = await read('ops/setup.sh');
    // The redis-server command line, joined across its backslash continuations.
    const start = script.replace(/\\\n\s*/g, ' ').match(/^\s*\$SUDO redis-server .*$/m)?.[0] ?? '';
    expect(start).toMatch(/--appendonly yes\b/);
    expect(start).toMatch(/--appendfsync everysec\b/);
    expect(start).toMatch(/--maxmemory-policy noeviction\b/);
    expect(start).not.toMatch(/--appendonly no\b/);
  });
});

describe('Dockerfile', () => {
  let text: string;
  let lines: string[];
  beforeAll(async () => {
    text = await read('Dockerfile');
    lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  });

  it('builds on Node 20 LTS with ffmpeg and a matching pg client, production deps only', async () => {
    expect(lines.find((l) => l.startsWith('FROM '))).toBe('FROM node:20-bookworm-slim');
    expect(text).toMatch(/apt-get install[^\n]*\bffmpeg\b/);
    expect(text).toMatch(/apt-get install[^\n]*\bpostgresql-client\b/);
    expect(text).toMatch(/npm ci --omit=dev/);
    const pkg = JSON.parse(await read('package.json')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['tsx'], 'tsx must be a runtime dependency: the image runs TypeScript').toBeDefined();
  });

  it('runs as a non-root user with a health check', () => {
    const users = lines.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER (root|0)(:|$)/);
    const hc = lines.findIndex((l) => l.startsWith('HEALTHCHECK '));
    expect(hc).toBeGreaterThan(-1);
    expect(text).toContain('ops/healthcheck.ts');
    const env = lines.filter((l) => l.startsWith('ENV ')).flatMap((l) => [...l.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!));
    for (const k of env) expect(ENV_KEYS, `Dockerfile ENV ${k}`).toContain(k);
  });
});
