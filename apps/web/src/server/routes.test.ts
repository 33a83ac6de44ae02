import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATIONS, openApiDocument } from './openapi';

const API = join(import.meta.dirname, '../app/api/v1');
/** Routes that are public on purpose. */
const PUBLIC = new Set(['GET /health', 'GET /openapi.json']);

function routeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return routeFiles(path);
    return entry === 'route.ts' ? [path] : [];
  });
}

const routes = routeFiles(API).flatMap((file) => {
  const path = `/${relative(API, join(file, '..'))}`.replace(/\[(\w+)\]/g, '{$1}');
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/export (?:const|async function|function) (GET|POST|PUT|PATCH|DELETE)\b(.*)/g)].map(([, method, rest]) => ({
    key: `${method} ${path}`,
    guarded: /^\s*=\s*apiRoute[<(]/.test(rest ?? ''),
  }));
});

describe('/api/v1 routes', () => {
  it('are found', () => {
    expect(routes.length).toBeGreaterThan(10);
  });

  it('each go through apiRoute (authentication and role check) unless public on purpose', () => {
    const unguarded = routes.filter((r) => !r.guarded && !PUBLIC.has(r.key)).map((r) => r.key);
    expect(unguarded).toEqual([]);
  });

  it('are each documented in the OpenAPI document, and nothing else is', () => {
    const documented = OPERATIONS.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
    const implemented = routes
      .map((r) => r.key)
      .filter((k) => k !== 'GET /openapi.json')
      .sort();
    expect(documented).toEqual(implemented);
  });

  it('make an OpenAPI document: every schema converts to JSON Schema', () => {
    const doc = openApiDocument();
    expect(Object.keys(doc.paths)).toContain('/restores');
    const start = doc.paths['/restores']!.post as { requestBody: { content: { 'application/json': { schema: { oneOf?: unknown[]; anyOf?: unknown[] } } } } };
    const body = start.requestBody.content['application/json'].schema;
    expect((body.oneOf ?? body.anyOf)?.length).toBe(4);
  });
});
