import { describe, expect, it } from 'vitest';
import { checkName, dirNameToTime, parsePointId, timeToDirName } from './format.js';
import { parseManifest } from './manifest.js';

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
  it('parses a good one', () => expect(parse(good)).toEqual(good));
  it('names an unknown version POINT_VERSION and damage POINT_CORRUPT', () => {
    expect(() => parse({ ...good, formatVersion: 2 })).toThrow(expect.objectContaining({ code: 'POINT_VERSION' }));
    expect(() => parseManifest('{', 'p.json', good.id)).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, id: 'vm2/20261122T072122.123Z' })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, disks: [{ ...good.disks[0], blockSize: 4096 }] })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
    expect(() => parse({ ...good, disks: [{ ...good.disks[0], index: '../x.idx' }] })).toThrow(expect.objectContaining({ code: 'POINT_CORRUPT' }));
  });
});
