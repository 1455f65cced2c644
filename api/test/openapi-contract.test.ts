import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_DEFINITIONS, type ErrorCode } from '../../core/errors.ts';
import { WEBHOOK_EVENTS } from '../../core/types.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { call, codeOf } from './http.ts';

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, { schema: ErrorSchema; examples?: Record<string, unknown> }> }>;
}
interface ErrorSchema {
  properties?: { error?: { properties?: { code?: { enum?: string[] } } } };
}
interface OpenApiDoc {
  openapi: string;
  security?: unknown;
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, { post: { requestBody: unknown } }>;
  components: { securitySchemes: Record<string, unknown> };
}

/**
 * Routes kept out of the document on purpose, with the reason. Anything else a route registers must be documented:
 * a forgotten schema would otherwise silently drop a route from the contract.
 */
const UNDOCUMENTED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/uploads(\/\*)?$/, 'tus 1.0 protocol, described by tus.io (the 201 carries Video-Id)'],
  [/^\/(upload|moderate|embed(\/:id)?|)$/, 'HTML pages'],
  [/^\/(vendor\/:name|player\/\*|favicon\.ico)$/, 'page assets'],
  [/^\/openapi\.json$/, 'this document'],
  [/^\*$/, 'CORS preflight answers'],
];

/** Path in the document for a fastify URL: `:id` → `{id}`, `*` → `{*}` (as @fastify/swagger writes them). */
const docPath = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');
/** A request URL for a documented path: a random uuid for ids, a servable file name for the wildcard. */
const concrete = (p: string): string => p.replace('{id}', randomUUID()).replace('{*}', 'master.m3u8');

function documentedCodes(op: Operation, status: string): string[] {
  return op.responses[status]?.content?.['application/json']?.schema.properties?.error?.properties?.code?.enum ?? [];
}

/** A body the route's schema accepts, so a missing token (checked after validation) is what the answer is about. */
function bodyFor(method: string, p: string): unknown {
  if (method === 'patch') return { title: 'contract' };
  if (p.endsWith('/reject')) return { notes: 'contract' };
  if (p === '/api/moderation/decisions') return { ids: [randomUUID()], decision: 'approve' };
  return method === 'post' ? {} : undefined;
}

describe('the served OpenAPI document matches the running API', () => {
  let t: TestApp;
  let doc: OpenApiDoc;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    const res = await call<OpenApiDoc>(t.url, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('documents every registered route, except the listed protocol, page and asset routes', () => {
    const missing: string[] = [];
    const hiddenUnlisted: string[] = [];
    for (const r of t.app.api!.registeredRoutes) {
      for (const m of r.methods.filter((x) => x !== 'HEAD' && x !== 'OPTIONS')) {
        const documented = doc.paths[docPath(r.url)]?.[m.toLowerCase()] !== undefined;
        const excused = UNDOCUMENTED.some(([re]) => re.test(r.url));
        if (!documented && !excused) missing.push(`${m} ${r.url}`);
        if (r.hidden && !excused) hiddenUnlisted.push(`${m} ${r.url}`);
      }
    }
    expect({ missing, hiddenUnlisted }).toEqual({ missing: [], hiddenUnlisted: [] });
    expect(doc.openapi).toBe('3.1.0');
    // No document-wide default: each route states its own.
    expect(doc.security).toBeUndefined();
  });

  it('lists per route each error status with codes of core/errors.ts that have that status, and an example per code', () => {
    const wrong: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) < 400 || (p === '/readyz' && status === '503')) continue;
          const codes = documentedCodes(op, status);
          if (!codes.length) wrong.push(`${method} ${p} ${status}: no codes`);
          if (res.description === 'Default Response') wrong.push(`${method} ${p} ${status}: no description`);
          for (const c of codes) {
            const def = ERROR_DEFINITIONS[c as ErrorCode] as { status: number } | undefined;
            if (def?.status !== Number(status))
              wrong.push(`${method} ${p} ${status}: ${c} is ${def ? def.status : 'not in core/errors.ts'}`);
            if (!res.content?.['application/json']?.examples?.[c]) wrong.push(`${method} ${p} ${status}: no example for ${c}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('declares security as the routes enforce it: bearer routes answer 401 without a token, the others do not ask for one', async () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const res = await call(t.url, method.toUpperCase(), concrete(p), { body: bodyFor(method, p) });
        const schemes = (op.security ?? []).map((s) => Object.keys(s).join('+'));
        const what = `${method} ${p} → ${res.status} ${codeOf(res) ?? ''}`;
        if (schemes.length === 1 && schemes[0] === 'bearer') {
          expect([what, codeOf(res)]).toEqual([what, 'AUTH_MISSING_TOKEN']);
        } else {
          expect(codeOf(res), what).not.toBe('AUTH_MISSING_TOKEN');
          if (p.startsWith('/hls/')) expect(schemes).toEqual(['playbackSignature']);
        }
        // Whatever came back is among that route's documented codes.
        if (res.status >= 400 && codeOf(res)) expect(documentedCodes(op, String(res.status)), what).toContain(codeOf(res));
      }
    }
    expect(doc.paths['/healthz']!['get']!.security).toEqual([]);
    expect(doc.paths['/api/playback/{id}']!['get']!.security).toEqual([{}, { bearer: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'playbackSignature']);
  });

  it('describes every webhook event with its payload', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENTS].sort());
    const ready = JSON.stringify(doc.webhooks['video.ready']!.post.requestBody);
    for (const field of ['passthrough', 'playback', 'videoId']) expect(ready).toContain(`"${field}"`);
    expect(ready).not.toContain('masterKey');
  });
});
