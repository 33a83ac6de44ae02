import { describe, expect, it } from 'vitest';
import type { GuestMountFs } from '@strongbox/db';
import type { GuestMountOf } from '@strongbox/hypervisors';
import { guestRoots, underRoot } from './restore-files.js';

const fs = (key: string, uuid: string | null, type = 'ext4'): GuestMountFs => ({
  key,
  device: `/dev/${key}`,
  type,
  label: null,
  uuid,
  sizeBytes: 1,
  mountable: true,
});

describe('where a file restore writes in the guest', () => {
  const filesystems = [fs('sda1', 'u-root'), fs('sdb1', 'u-data', 'xfs'), fs('sdc1', null, 'vfat'), fs('sdd1', 'u-gone')];
  const guest: Record<string, GuestMountOf> = {
    'u-root': { mountPoint: '/', device: '/dev/vda1' },
    'u-data': { mountPoint: '/srv/data', device: '/dev/mapper/vg0-data' },
    'u-gone': { notMounted: true },
  };
  const mountOf = (uuid: string) => Promise.resolve(guest[uuid] ?? ({ unknown: 'the guest has no findfs, or allows no guest-exec' } as const));

  it("maps each file system to the guest's mount point of the same UUID", async () => {
    const roots = await guestRoots(filesystems, ['sda1', 'sdb1', 'sda1'], mountOf, 'vm1');
    expect([...roots]).toEqual([
      ['sda1', '/'],
      ['sdb1', '/srv/data'],
    ]);
    expect(underRoot('/', '/etc/app.conf')).toBe('/etc/app.conf');
    expect(underRoot('/srv/data', '/ledger.csv')).toBe('/srv/data/ledger.csv');
  });

  it.each([
    [['sdd1'], 'sdd1 (ext4, UUID u-gone) is not mounted in vm1: mount it in the guest, or download the files instead'],
    [['sdc1'], 'sdc1 (vfat) has no UUID: where vm1 mounts it cannot be told'],
    [['sdx9'], 'the point has no file system sdx9'],
  ])('refuses the whole restore when %s cannot be placed', async (keys, message) => {
    await expect(guestRoots(filesystems, ['sda1', ...keys], mountOf, 'vm1')).rejects.toThrow(message);
  });

  it('says why when the guest cannot tell', async () => {
    const blind = () => Promise.resolve({ unknown: 'the guest has no findfs, or allows no guest-exec' } as const);
    await expect(guestRoots(filesystems, ['sda1'], blind, 'vm1')).rejects.toThrow(
      'where vm1 mounts sda1 (UUID u-root) cannot be told: the guest has no findfs, or allows no guest-exec; download the files instead',
    );
  });
});
