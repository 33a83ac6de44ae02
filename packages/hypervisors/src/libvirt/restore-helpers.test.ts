import { describe, expect, it } from 'vitest';
import { nextFreeTarget } from './disk-config.js';
import { diskPaths } from './image-users.js';
import { nbdBackingJson, parseBlockJobInfo } from './instant.js';
import { spaceNeeded } from './pools.js';

describe('parseBlockJobInfo', () => {
  it('reads the figures of `virsh blockjob --info --raw` (as libvirt 9.0 prints them), and nothing when no job runs', () => {
    expect(parseBlockJobInfo(' type=Block Copy\n bandwidth=4\n cur=16777216\n end=67108864\n')).toEqual({ copiedBytes: 16777216, totalBytes: 67108864 });
    expect(parseBlockJobInfo('')).toBeNull();
    expect(parseBlockJobInfo('Block Copy: [ 25 %]')).toBeNull();
  });
});

describe('nbdBackingJson', () => {
  it('puts the NBD node under `file`, as QEMU 7.2 takes it with a raw backing format', () => {
    const json = nbdBackingJson({ socketPath: '/run/sb/p "1".sock', exportName: 'vda' });
    expect(json.startsWith('json:')).toBe(true);
    expect(JSON.parse(json.slice(5))).toEqual({
      file: { driver: 'nbd', server: { type: 'unix', path: '/run/sb/p "1".sock' }, export: 'vda', 'reconnect-delay': 10 },
    });
  });
});

describe('spaceNeeded', () => {
  it('is the data (and qcow2 metadata) in a file pool, the whole capacity in a logical one', () => {
    const G = 2 ** 30;
    expect(spaceNeeded({ type: 'dir' }, 100 * G, 3 * G, 'raw')).toBe(3 * G);
    // 1 MiB clusters: header, refcount table and block, L1, and one L2 table (each covers 128 GiB).
    expect(spaceNeeded({ type: 'dir' }, 100 * G, 3 * G, 'qcow2')).toBe(3 * G + 5 * 2 ** 20);
    expect(spaceNeeded({ type: 'dir' }, 300 * G, 3 * G, 'qcow2')).toBe(3 * G + 7 * 2 ** 20);
    expect(spaceNeeded({ type: 'logical' }, 100 * G, 3 * G, 'raw')).toBe(100 * G);
  });
});

describe('nextFreeTarget', () => {
  it('takes the first free vdX, and says when none is left', () => {
    expect(nextFreeTarget(['vda', 'vdb', 'sda', 'vdd'])).toBe('vdc');
    expect(nextFreeTarget([])).toBe('vda');
    expect(nextFreeTarget(Array.from({ length: 26 }, (_, i) => `vd${String.fromCharCode(97 + i)}`))).toBeNull();
  });
});

describe('diskPaths', () => {
  it('lists each disk’s image and its backing chain', () => {
    const xml = `<domain><name>a</name><uuid>u</uuid><devices>
      <disk type='file'><source file='/o.qcow2'/><backingStore type='file'><source file='/b.qcow2'/><backingStore type='block'><source dev='/dev/x'/></backingStore></backingStore><target dev='vda'/></disk>
      <disk type='network'><source protocol='nbd' name='e'><host transport='unix' socket='/s'/></source><target dev='vdb'/></disk>
      <disk type='file' device='cdrom'><target dev='sda'/></disk>
    </devices></domain>`;
    expect(diskPaths(xml)).toEqual(['/o.qcow2', '/b.qcow2', '/dev/x']);
  });
});
