import { describe, expect, it } from 'vitest';
import { resolvePath } from './file-service.js';
import { keysFor } from './mounts.js';

const fs = (device: string, type = 'ext4', mountable = true) => ({ device, type, label: null, uuid: null, sizeBytes: 1, drive: 0, mountable });

describe('guest-file browse paths', () => {
  const filesystems = keysFor([fs('/dev/sda1'), fs('/dev/vg0/data', 'xfs'), fs('/dev/mapper/vg0-data', 'xfs'), fs('/dev/sda2', 'swap', false)]);
  const mount = { filesystems: new Map(filesystems.map((f) => [f.key, f])) };

  it('keys a file system by its device, unique even when two devices would give one key', () => {
    expect(filesystems.map((f) => f.key)).toEqual(['sda1', 'vg0-data', 'mapper-vg0-data', 'sda2']);
    expect(keysFor([fs('/dev/vg-a/b'), fs('/dev/vg-a-b')]).map((f) => f.key)).toEqual(['vg-a-b', 'vg-a-b~2']);
  });

  it('resolves the first segment to its device and the rest inside it; / is the list of file systems', () => {
    expect(resolvePath(mount, '/')).toBeNull();
    expect(resolvePath(mount, '/sda1')).toEqual({ key: 'sda1', device: '/dev/sda1', inner: '/' });
    expect(resolvePath(mount, '/vg0-data/srv/a b.txt')).toEqual({ key: 'vg0-data', device: '/dev/vg0/data', inner: '/srv/a b.txt' });
  });

  it('refuses with the field named: .., NUL, relative, not a string, an unknown file system; one that cannot be mounted is a conflict', () => {
    for (const bad of ['/sda1/../etc', 'sda1/etc', '/sda1/a\u0000b', 42, '/nosuch/etc']) {
      expect(() => resolvePath(mount, bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ status: 400, field: 'path' }));
    }
    expect(() => resolvePath(mount, '/sda2/x')).toThrow(expect.objectContaining({ status: 409 }));
  });
});
