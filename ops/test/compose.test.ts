import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV_KEYS, loadConfig } from '../config.ts';
import { interpolate } from './compose-interpolate.ts';

/** No Docker engine runs in CI: the compose file and Dockerfile are checked structurally instead. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (f: string): Promise<string> => readFile(path.join(ROOT, f), 'utf8');

/**
 * Variables compose passes that other issues add to ops/config.ts (names as in their branches at the time of
 * writing). After merging, each must be in ENV_KEYS; delete it here then, so a misspelt name fails this test.
 */
const PENDING_ENV: Readonly<Record<string, string>> = {};

/**
 * Variables ops/config.ts reads that docker-compose.yml deliberately does not pass, and why. Every other one must be
 * in the app's environment, so an operator can set it in .env.
 */
const LEFT_OUT: Readonly<Record<string, string>> = {
  CLAMD_SOCKET: 'clamd runs in its own container and is reached over TCP (CLAMD_HOST/CLAMD_PORT)',
  QUARANTINE_DIR: 'with STORAGE_DRIVER=s3 infected uploads are quarantined in the bucket, not on a container disk',
  ARCHIVE_DIR: 'only for ARCHIVE_DRIVER=local, i.e. a disk inside one container; compose archives to a bucket',
  PUBLIC_BASE_URL: 'only presigns a local archive (ARCHIVE_DRIVER=local), which compose does not use',
  LOCAL_URL_SECRET: 'only presigns a local archive (ARCHIVE_DRIVER=local), which compose does not use',
  JWT_PUBLIC_KEY: 'compose requires JWT_SECRET and the two exclude each other; an IdP deployment sets it in an override file',
  PG_DUMP_PATH: "the image's postgresql-client is on PATH and matches the postgres service (15)",
  PG_RESTORE_PATH: "the image's postgresql-client is on PATH and matches the postgres service (15)",
  STREAM_API_BASE: "Cloudflare's API root; only tests point it elsewhere",
};

/** Values fixed by the image or the compose topology itself (not taken from .env), and why. */
const FIXED: Readonly<Record<string, string>> = {
  DATA_DIR: 'the volume mount point',
  HOST: 'the container listens on every interface; the published port is API_PORT',
  PORT: 'the container port that API_PORT maps to',
  FFMPEG_PATH: "the image's apt ffmpeg",
  FFPROBE_PATH: "the image's apt ffprobe",
  STORAGE_DRIVER: 'workers share no disk with the api: uploads, masters and HLS go through the bucket',
  WORKER_METRICS_PORT: 'Prometheus scrapes every worker replica on the same port inside the compose network',
};

/** What an operator's .env holds at least (.env.example with its secrets filled in). */
const DOT_ENV: Readonly<Record<string, string>> = {
  POSTGRES_PASSWORD: 'pg-secret',
  S3_ACCESS_KEY_ID: 'kidstream',
  S3_SECRET_ACCESS_KEY: 's3-secret-s3-secret',
  JWT_SECRET: 'j'.repeat(32),
  PLAYBACK_SIGNING_KEY: 'p'.repeat(32),
  UPLOAD_TOKEN_SECRET: 'u'.repeat(32),
  WEBHOOK_SECRET: 'w'.repeat(32),
};

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

  it('passes every variable an operator may set, except the ones listed with a reason', () => {
    for (const key of Object.keys({ ...LEFT_OUT, ...FIXED })) expect(ENV_KEYS, `${key} is listed but not read`).toContain(key);
    // HOST/PORT are the api's, WORKER_METRICS_PORT the workers': a variable counts as passed when either role gets it.
    const passed = { ...c.services['api']?.environment, ...c.services['worker']?.environment };
    for (const key of ENV_KEYS) {
      if (key in LEFT_OUT) expect(passed, `${key} is listed as left out`).not.toHaveProperty(key);
      else expect(passed, `${key} is neither passed nor listed in LEFT_OUT`).toHaveProperty(key);
    }
    for (const name of ['api', 'worker']) {
      for (const [key, value] of Object.entries(c.services[name]?.environment ?? {})) {
        if (key in FIXED) continue;
        expect(String(value), `${name}: ${key} is hard-coded; take it from .env with a default`).toContain('${');
      }
    }
  });

  it('starts with .env.example and its secrets filled in, on the bundled services', () => {
    for (const name of ['api', 'worker', 'backup']) {
      const env = Object.fromEntries(
        Object.entries(c.services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), DOT_ENV)]),
      );
      const config = loadConfig(env);
      expect(config.databaseUrl).toBe('postgres://kidstream:pg-secret@postgres:5432/kidstream');
      expect(config.redisUrl).toBe('redis://redis:6379');
      expect(config.clamd).toMatchObject({ socket: undefined, host: 'clamav', port: 3310 });
      expect(config.storage.publish).toMatchObject({ driver: 's3', s3: { endpoint: 'http://minio:9000' } });
      expect(config.trustProxy).toBe(false);
      expect(config.corsOrigins).toEqual([]);
      expect(config.webhooks.urls).toEqual([]);
    }
  });

  it('lets .env point the app at managed services and set proxy, CORS and webhooks', () => {
    const dotEnv = {
      ...DOT_ENV,
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/kidstream',
      REDIS_URL: 'redis://cache.internal:6380',
      S3_ENDPOINT: 'https://s3.example.net',
      CLAMD_HOST: 'av.internal',
      CLAMD_PORT: '3311',
      TRUST_PROXY: 'true',
      CORS_ORIGINS: 'https://school.example, https://kids.example',
      WEBHOOK_URLS: 'https://hooks.example/kidstream',
    };
    const env = Object.fromEntries(
      Object.entries(c.services['api']?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), dotEnv)]),
    );
    const config = loadConfig(env);
    expect(config.databaseUrl).toBe(dotEnv.DATABASE_URL);
    expect(config.redisUrl).toBe(dotEnv.REDIS_URL);
    expect(config.storage.publish).toMatchObject({ s3: { endpoint: dotEnv.S3_ENDPOINT } });
    expect(config.clamd).toMatchObject({ host: 'av.internal', port: 3311 });
    expect(config.trustProxy).toBe(true);
    expect(config.corsOrigins).toEqual(['https://school.example', 'https://kids.example']);
    expect(config.webhooks.urls).toEqual(['https://hooks.example/kidstream']);
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

describe('Node.js in CI', () => {
  it('setup.sh installs the locked dependencies with npm ci on Node >= 22, and .ci/run runs every step on that Node', async () => {
    const setup = await read('ops/setup.sh');
    const sourced = setup.search(/^source .*node-lts\.sh"?$/m);
    expect(sourced).toBeGreaterThan(-1);
    expect(setup.indexOf('npm ci --no-audit')).toBeGreaterThan(sourced);
    // No quiet `npm install`: it would resolve another tree than the committed lock file.
    expect(setup).not.toMatch(/^[^#\n]*npm install/m);
    const ci = await read('.ci/run');
    expect(ci.search(/^source ops\/node-lts\.sh$/m)).toBeGreaterThan(ci.indexOf('ops/setup.sh'));
    expect(ci.search(/^source ops\/node-lts\.sh$/m)).toBeLessThan(ci.indexOf('npm run typecheck'));
    expect(await read('ops/node-lts.sh')).toMatch(/^KIDSTREAM_NODE_MAJOR=22$/m);
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

  it('builds on the Node LTS line package.json requires, with ffmpeg and a matching pg client, production deps only', async () => {
    const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines.node;
    const major = Number(/^>=(\d+)\./.exec(engines)?.[1]);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(lines.find((l) => l.startsWith('FROM '))).toBe(`FROM node:${major}-bookworm-slim`);
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
