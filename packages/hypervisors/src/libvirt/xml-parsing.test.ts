import { describe, expect, it } from 'vitest';
import { parseBackupExports } from './backup-running.js';
import { checkpointXml, parseCheckpoint } from './checkpoints.js';
import { parseDomainXml } from './domain-xml.js';

const domain = `<domain type='qemu' id='3'>
  <name>web-1</name>
  <uuid>e4208963-acad-465b-b110-a234c7e4b1dd</uuid>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web-1.qcow2' index='2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/iso/debian.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+113</label></seclabel>
</domain>`;

describe('parseDomainXml', () => {
  it("lists disks (not cdroms) with format and source, the agent channel and QEMU's user", () => {
    const info = parseDomainXml(domain);
    expect(info.name).toBe('web-1');
    expect(info.disks).toEqual([
      { target: 'vda', bus: 'virtio', source: '/var/lib/libvirt/images/web-1.qcow2', sourceType: 'file', format: 'qcow2', readOnly: false },
      { target: 'vdb', bus: 'virtio', source: '/dev/vg0/data', sourceType: 'block', format: 'raw', readOnly: false },
    ]);
    expect(info.hasGuestAgentChannel).toBe(true);
    expect(info.qemuOwner).toEqual({ uid: 64055, gid: 113 });
  });

  it('refuses XML that is not a domain', () => {
    expect(() => parseDomainXml('<pool><name>x</name></pool>')).toThrow(/without name or uuid/);
  });
});

describe('checkpoint XML', () => {
  it('round-trips our note and leaves raw disks out of the bitmap set', () => {
    const note = { strongbox: 1 as const, vmUuid: 'u-1', disks: { vda: { sizeBytes: 134217728, path: '/img/vda.qcow2' } } };
    const xml = checkpointXml('strongbox-20261122-0405', note, ['vda', 'vdb']);
    expect(xml).toContain(`<disk name='vdb' checkpoint='no'/>`);
    expect(parseCheckpoint(xml)).toEqual({
      name: 'strongbox-20261122-0405',
      vmUuid: 'u-1',
      disks: { vda: { bitmap: 'strongbox-20261122-0405', sizeBytes: 134217728, path: '/img/vda.qcow2' } },
    });
  });

  it('reads a checkpoint someone else described without trusting a note', () => {
    const cp = parseCheckpoint(
      `<domaincheckpoint><name>strongbox-1</name><description>made by hand</description><disks><disk name='vda' checkpoint='bitmap' bitmap='strongbox-1'/></disks></domaincheckpoint>`,
    );
    expect(cp).toEqual({ name: 'strongbox-1', vmUuid: undefined, disks: { vda: { bitmap: 'strongbox-1' } } });
  });
});

describe('parseBackupExports', () => {
  it('names each export and its dirty bitmap (incremental disks only)', () => {
    const xml = `<domainbackup mode='pull'><incremental>strongbox-1</incremental><server transport='unix' socket='/s'/><disks>
      <disk name='vda' backup='yes' type='file' backupmode='incremental' incremental='strongbox-1' exportname='vda' exportbitmap='backup-vda'/>
      <disk name='vdb' backup='yes' type='file' backupmode='full' exportname='vdb'/>
      <disk name='sda' backup='no'/></disks></domainbackup>`;
    expect([...parseBackupExports(xml)]).toEqual([
      ['vda', { name: 'vda', bitmap: 'backup-vda' }],
      ['vdb', { name: 'vdb', bitmap: null }],
    ]);
  });
});
