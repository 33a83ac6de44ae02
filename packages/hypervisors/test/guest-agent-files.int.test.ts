import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLabVm, startLabVm, type GuestConsole, type LabVm } from '../../../scripts/lab/index.js';
import { AGENT_CHUNK, GuestAgentFiles, keepBothName, Virsh } from '../src/index.js';
import { lab, labVm, LAB_URI, removeLabVm, unavailable } from './lab-fixture.js';

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

describe.skipIf(unavailable !== null)('files written into a running VM through qemu-guest-agent', () => {
  const tag = randomBytes(3).toString('hex');
  const withAgent = `sblab-gaf-${tag}`;
  const noAgent = `sblab-gafna-${tag}`;
  const virsh = new Virsh(LAB_URI);
  let guest: GuestConsole;
  let files: GuestAgentFiles;
  let plain: LabVm;
  let plainGuest: GuestConsole | null = null;

  beforeAll(async () => {
    ({ guest } = await labVm({
      name: withAgent,
      agent: true,
      disks: [{ sizeMiB: 64 }, { sizeMiB: 64, fs: 'ext4-partitioned', files: { 'docs/report.txt': 'v1\n' } }],
    }));
    files = await GuestAgentFiles.open(virsh, withAgent);
    plain = await defineLabVm(await lab(), { name: noAgent, disks: [{ sizeMiB: 64 }] });
  }, 600_000);

  afterAll(async () => {
    guest?.close();
    plainGuest?.close();
    await removeLabVm(withAgent);
    await removeLabVm(noAgent);
  });

  it('writes a file of several agent chunks; the guest reads it back with its md5', async () => {
    const data = randomBytes(3 * AGENT_CHUNK + 4321);
    const seen: number[] = [];
    expect(await files.write('/mnt/vdb1/docs/big.bin', once(data), (n) => seen.push(n))).toBe(data.length);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(await guest.md5File('vdb', 'docs/big.bin')).toBe(md5(data));
  });

  it('overwrites a file in place, or keeps both beside it', async () => {
    expect(await files.exists('/mnt/vdb1/docs/report.txt')).toBe(true);
    expect(await files.exists('/mnt/vdb1/docs/absent.txt')).toBe(false);
    await files.write('/mnt/vdb1/docs/report.txt', once(Buffer.from('v0 restored\n')));
    expect(await guest.md5File('vdb', 'docs/report.txt')).toBe(md5('v0 restored\n'));
    const copy = keepBothName('/mnt/vdb1/docs/report.txt', new Date('2026-12-03T10:00:00Z'));
    await files.write(copy, once(Buffer.from('kept\n')));
    expect(await guest.md5File('vdb', 'docs/report.txt.restored-20261203T100000Z')).toBe(md5('kept\n'));
    expect(await guest.md5File('vdb', 'docs/report.txt')).toBe(md5('v0 restored\n'));
  });

  it("creates missing folders and gives the file the original's owner, mode and time", async () => {
    expect(await files.makeDirectories('/mnt/vdb1/gone/deep')).toBe(true);
    await files.write('/mnt/vdb1/gone/deep/f.txt', once(Buffer.from('f\n')));
    const mtime = new Date('2025-06-01T12:34:56Z');
    expect(await files.applyMeta('/mnt/vdb1/gone/deep/f.txt', { uid: 1000, gid: 1001, mode: 0o640, mtime })).toEqual([]);
    const stat = await files.exec('stat', ['-c', '%u %g %a %Y', '/mnt/vdb1/gone/deep/f.txt']);
    expect(stat).toMatchObject({ code: 0, stdout: `1000 1001 640 ${mtime.getTime() / 1000}` });
    expect(await guest.md5File('vdb', 'gone/deep/f.txt')).toBe(md5('f\n'));
  });

  it('refuses, with the reason, a VM that is off and a VM without an agent', async () => {
    await expect(GuestAgentFiles.open(virsh, noAgent)).rejects.toThrow(`${noAgent} is shut off: files are restored into a running VM only`);
    plainGuest = await startLabVm(plain);
    await expect(GuestAgentFiles.open(virsh, noAgent)).rejects.toThrow(`${noAgent} has no qemu-guest-agent channel`);
  });
});
