import { describe, expect, it } from 'vitest';
import { checkName, dirNameToTime, parsePointId, timeToDirName } from './format.js';
import { canonicalJson } from './canonical-json.js';
import { formatManifest, manifestSha256, parseManifest } from './manifest.js';
import type { PointManifest } from './types.js';

describe('names and ids', () => {
  it('turns times into folder names and back', () => {
    const t = new Date('2026-11-22T07:21:22.123Z');
    expect(timeToDirName(t)).toBe('20261122T072122.123Z');
    expect(dirNameToTime('20261122T072122.123Z')).toBe(t.toISOString());
    expect(dirNameToTime('garbage')).toBeNull();
  });
  it('checks VM ids, disk names and point ids', () => {
    expect(checkName('disk', 'vda')).toBe('vda');
    for (const bad of ['', '../x', 'a/b', '.hidden', 'x'.repeat(200)]) expect(() => checkName('vmId', bad)).toThrow(/not usable/);
    expect(parsePointId('vm1/20261122T072122.123Z')).toEqual({ vmId: 'vm1', dir: '20261122T072122.123Z' });
    for (const bad of ['vm1', 'vm1/x', '../20261122T072122.123Z', 'a/20261122T072122.123Z/c']) expect(() => parsePointId(bad)).toThrow();
  });
});

describe('point.json', () => {
  const good = {
    formatVersion: 1,
    id: 'vm1/20261122T072122.123Z',
    vmId: 'vm1',
    time: '2026-11-22T07:21:22.123Z',
    kind: 'full',
    parent: null,
    config: null,
    job: null,
    disks: [
      { name: 'vda', size: 10, blockSize: 262144, codec: 'fast', index: 'vda.idx', indexSha256: 'ab', blocks: 1, zeroBlocks: 0, newBytes: 10, storedBytes: 34 },
    ],
  };
  const parse = (o: unknown) => parseManifest(JSON.stringify(o), 'p.json', 'vm1/20261122T072122.123Z');
  it('parses a good one of version 1 (no checksum)', () => expect(parse(good)).toEqual(good));
  it('names an unknown version POINT_VERSION and damage POINT_CORRUPT', () => {
    expect(() => parse({ ...good, formatVersion: 3 })).toThrow(expect.objectContaining({ code: 'POINT_VERSION' }));
    expect(() => parseManifest('{', 'p.json', good.id)).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, id: 'vm2/20261122T072122.123Z' })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, disks: [{ ...good.disks[0], blockSize: 4096 }] })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, disks: [{ ...good.disks[0], index: '../x.idx' }] })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
  });
});

describe('point.json checksum', () => {
  const manifest: PointManifest = {
    formatVersion: 2,
    id: 'vm1/20261122T072122.123Z',
    vmId: 'vm1',
    time: '2026-11-22T07:21:22.123Z',
    kind: 'full',
    parent: null,
    config: '<domain><memory unit="KiB">131072</memory><name>ü "q" \u2028</name></domain>',
    job: { checkpoint: 'sb-1', nested: { b: 1, a: [true, null, 'x'] } },
    disks: [
      { name: 'vda', size: 10, blockSize: 262144, codec: 'fast', index: 'vda.idx', indexSha256: 'ab', blocks: 1, zeroBlocks: 0, newBytes: 10, storedBytes: 34 },
    ],
  };
  const text = formatManifest(manifest);
  const parse = (t: string) => parseManifest(t, 'p.json', manifest.id);

  it('is the SHA-256 of the RFC 8785 form (the example of FORMAT.md)', () => {
    expect(canonicalJson(JSON.parse('{"b": [1, "x"], "a": null}'))).toBe('{"a":null,"b":[1,"x"]}');
    expect(manifestSha256({ b: [1, 'x'], a: null })).toBe('c22cb7b0353770e2b38094af641143ebf008ddf2d1f2dedb9d875996fcf245fa');
    expect(canonicalJson(JSON.parse('{"__proto__": 1, "é": "\\u0001\\u2028ü", "A": -0}'))).toBe('{"A":0,"__proto__":1,"é":"\\u0001\u2028ü"}');
  });

  it('round-trips, and survives another serialization of the same content', () => {
    expect(parse(text)).toEqual(manifest);
    const raw = JSON.parse(text) as Record<string, unknown>;
    expect(raw.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(raw).at(-1)).toBe('sha256');
    // Compact, members reversed: the same content, the same checksum.
    const reordered = Object.fromEntries(Object.entries(raw).reverse());
    expect(parse(JSON.stringify(reordered))).toEqual(manifest);
  });

  it('refuses one changed digit, a removed checksum, and a version changed back to 1', () => {
    expect(() => parse(text.replace('131072', '131073'))).toThrow(
      expect.objectContaining({ code: 'POINT_CORRUPT', message: expect.stringMatching(/checksum/) }),
    );
    const raw = JSON.parse(text) as Record<string, unknown>;
    expect(() => parse(JSON.stringify({ ...raw, sha256: undefined }))).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse(JSON.stringify({ ...raw, formatVersion: 1 }))).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse(JSON.stringify({ ...raw, formatVersion: 3 }))).toThrow(expect.objectContaining({ code: 'POINT_VERSION' }));
  });
});
