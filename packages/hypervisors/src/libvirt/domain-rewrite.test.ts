import { describe, expect, it } from 'vitest';
import { diskElementOnto, diskTargets, rewriteDomainXml, type DomainRewrite } from './domain-rewrite.js';
import { diskPaths } from './image-users.js';
import { parseDomainXml } from './domain-xml.js';
import { list, node, parseXml } from './xml.js';

const POINT_XML = `<domain type='kvm'>
  <name>web-1</name>
  <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90e</genid>
  <metadata><app:inst xmlns:app="urn:example">42</app:inst></metadata>
  <memory unit='KiB'>1048576</memory>
  <sysinfo type='smbios'><system><entry name='manufacturer'>ACME</entry><entry name='uuid'>c7a5fdbd-cdaf-9455-926a-d65c16db1809</entry></system></sysinfo>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/web-1_VARS.fd</nvram>
    <cmdline>console=ttyS0 root=/dev/vda1 a=&quot;b&amp;c&quot;</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='/var/lib/libvirt/images/web-1.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/var/lib/libvirt/images/base.qcow2'/><backingStore/></backingStore>
      <target dev='vda' bus='virtio'/>
      <serial>disk-a</serial>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:01'/>
      <source network='default'/>
      <target dev='vnet7'/>
      <model type='virtio'/>
    </interface>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' io='native'/>
      <source dev='/dev/vg0/web-1-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <auth username='admin'><secret type='ceph' usage='client.admin'/></auth>
      <source protocol='rbd' name='pool/web-1-logs'><host name='mon1' port='6789'/></source>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sdb' bus='scsi'/></disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/isos/debian.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:02'/>
      <source bridge='br0'/>
      <link state='up'/>
      <model type='virtio'/>
    </interface>
    <serial type='unix'><source mode='bind' path='/srv/vms/web-1/console.sock'/><target port='0'/></serial>
    <console type='unix'><source mode='bind' path='/srv/vms/web-1/console.sock'/><target type='serial' port='0'/></console>
    <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-web-1/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <channel type='unix'><source mode='bind' path='/srv/other/console.sock'/><target type='virtio' name='org.example.1'/></channel>
    <channel type='unix'><source mode='connect' path='/run/svc.sock'/><target type='virtio' name='org.example.2'/></channel>
    <graphics type='vnc' port='5907' autoport='no' listen='0.0.0.0'><listen type='address' address='0.0.0.0'/></graphics>
  </devices>
</domain>
`;

const base: DomainRewrite = {
  name: 'web-1-restored',
  uuid: '0b4f7a51-93f4-4c8e-8a43-7e7b0d0a4a11',
  disks: new Map([
    ['vda', { path: '/pool/web-1-restored-vda.qcow2', format: 'qcow2' }],
    ['vdc', { path: '/pool/web-1-restored-vdc.raw', format: 'raw' }],
  ]),
  networks: 'connected',
  keepIdentity: false,
  socketDir: '/var/lib/libvirt/strongbox/vms/web-1-restored',
};

const devices = (xml: string) => node(node(parseXml(xml, 'test').domain).devices);
const domain = (xml: string) => node(parseXml(xml, 'test').domain);

describe('rewriteDomainXml', () => {
  it('gives the copy its name and UUID, a fresh generation ID, no SMBIOS UUID and a fresh NVRAM', () => {
    const { xml } = rewriteDomainXml(POINT_XML, base);
    const info = parseDomainXml(xml);
    expect(info.name).toBe('web-1-restored');
    expect(info.uuid).toBe(base.uuid);
    expect(xml).not.toContain('43dc0cf8');
    expect(xml).toMatch(/<genid\/>/);
    expect(xml).not.toContain('name="uuid"');
    expect(xml).toContain('ACME');
    expect(xml).toMatch(/<nvram template="\/usr\/share\/OVMF\/OVMF_VARS_4M.fd"\/>/);
    // Text and attributes with entities survive the round trip.
    expect(xml).toContain('a=&quot;b&amp;c&quot;');
    expect(xml).toContain('<app:inst xmlns:app="urn:example">42</app:inst>');
  });

  it('points restored disks at their new images, alone, and leaves out the disks not restored', () => {
    const { xml, droppedDisks } = rewriteDomainXml(POINT_XML, base);
    expect(droppedDisks).toEqual(['sdb', 'vdb']);
    const disks = parseDomainXml(xml).disks;
    expect(disks.map((d) => [d.target, d.sourceType, d.source, d.format])).toEqual([
      ['vda', 'file', '/pool/web-1-restored-vda.qcow2', 'qcow2'],
      ['vdc', 'file', '/pool/web-1-restored-vdc.raw', 'raw'],
    ]);
    // Only the new images: no backing chain, no rbd host or secret, no old path.
    expect(diskPaths(xml)).toEqual(['/pool/web-1-restored-vda.qcow2', '/pool/web-1-restored-vdc.raw']);
    expect(xml).not.toMatch(/backingStore|<auth|rbd|mon1|web-1\.qcow2|vg0/);
    // What else the disk had stays: driver options, serial, PCI address.
    const vda = list(devices(xml).disk)[0]!;
    expect(node(vda.driver)).toMatchObject({ '@name': 'qemu', '@type': 'qcow2', '@cache': 'none', '@discard': 'unmap' });
    expect(vda.serial).toBe('disk-a');
    expect(node(vda.address)['@bus']).toBe('0x04');
  });

  it('keeps the CD-ROM drive, empty', () => {
    const { xml } = rewriteDomainXml(POINT_XML, base);
    expect(diskTargets(xml)).toEqual(['vda', 'vdc', 'sda']);
    expect(xml).not.toContain('debian.iso');
  });

  it('drops MACs and tap names; keeps links as they were when connected, and device order', () => {
    const { xml } = rewriteDomainXml(POINT_XML, base);
    const nics = list(devices(xml).interface);
    expect(nics.map((n) => n.mac)).toEqual([undefined, undefined]);
    expect(nics.map((n) => n.target)).toEqual([undefined, undefined]);
    expect(nics.map((n) => node(n.link)['@state'])).toEqual([undefined, 'up']);
    const order = [...xml.matchAll(/<(disk|interface) /g)].map((m) => m[1]);
    expect(order).toEqual(['disk', 'interface', 'disk', 'disk', 'interface']);
  });

  it('defines every interface with its link down when disconnected', () => {
    const { xml } = rewriteDomainXml(POINT_XML, { ...base, networks: 'disconnected' });
    const nics = list(devices(xml).interface);
    expect(nics.map((n) => node(n.link)['@state'])).toEqual(['down', 'down']);
    expect(xml.match(/<link /g)).toHaveLength(2);
  });

  it('moves bound sockets into the new VM’s directory, lets libvirt place its own channel paths, and frees a fixed VNC port', () => {
    const { xml, movedSockets } = rewriteDomainXml(POINT_XML, base);
    expect([...movedSockets]).toEqual([
      ['/srv/vms/web-1/console.sock', '/var/lib/libvirt/strongbox/vms/web-1-restored/console.sock'],
      ['/srv/other/console.sock', '/var/lib/libvirt/strongbox/vms/web-1-restored/1-console.sock'],
    ]);
    expect(xml.match(/web-1-restored\/console\.sock/g)).toHaveLength(2); // serial and console share it, as before
    expect(xml).not.toContain('/srv/vms/');
    expect(xml).not.toContain('domain-3-web-1');
    expect(xml).toContain('<source mode="connect" path="/run/svc.sock"/>');
    const g = node(devices(xml).graphics);
    expect(g['@autoport']).toBe('yes');
    expect(g['@port']).toBeUndefined();
  });

  it('keeps UUID, MACs, tap names and ports with keepIdentity', () => {
    const { xml } = rewriteDomainXml(POINT_XML, { ...base, name: 'web-1', uuid: null, keepIdentity: true });
    expect(parseDomainXml(xml).uuid).toBe('c7a5fdbd-cdaf-9455-926a-d65c16db1809');
    expect(xml).toContain('52:54:00:aa:bb:01');
    expect(xml).toContain('vnet7');
    expect(xml).toContain('port="5907"');
    expect(xml).toContain('name="uuid"');
    expect(xml).toContain('web-1_VARS.fd');
  });

  it('refuses a disk the point does not have, naming the ones it has', () => {
    expect(() => rewriteDomainXml(POINT_XML, { ...base, disks: new Map([['vdq', { path: '/p/x', format: 'raw' }]]) })).toThrow(
      expect.objectContaining({ code: 'HV_RESTORE', message: expect.stringContaining('no disk vdq (it has vda, vdb, vdc)') }),
    );
    expect(() => rewriteDomainXml('<domain><name>x</name></domain>', base)).toThrow(expect.objectContaining({ code: 'HV_BAD_XML' }));
    expect(() => rewriteDomainXml('<pool/>', base)).toThrow(expect.objectContaining({ code: 'HV_BAD_XML' }));
  });

  it('adds a driver to a disk that had none', () => {
    const xml = `<domain><name>a</name><devices><disk type='file'><source file='/x'/><target dev='vda'/></disk></devices></domain>`;
    const out = rewriteDomainXml(xml, { ...base, disks: new Map([['vda', { path: '/y.qcow2', format: 'qcow2' }]]) }).xml;
    expect(parseDomainXml(out).disks[0]).toMatchObject({ source: '/y.qcow2', format: 'qcow2' });
    expect(domain(out).uuid).toBe(base.uuid);
    expect(out.indexOf('<name>')).toBeLessThan(out.indexOf('<uuid>'));
  });
});

describe('diskElementOnto', () => {
  it('gives the disk of one target, on a new image, as a device XML', () => {
    const disk = diskElementOnto(POINT_XML, 'vdb', '/pool/new.qcow2', 'qcow2')!;
    const d = list(parseXml(disk, 'disk').disk)[0]!;
    expect(d['@type']).toBe('file');
    expect(node(d.source)).toEqual({ '@file': '/pool/new.qcow2' });
    expect(node(d.driver)).toMatchObject({ '@type': 'qcow2', '@io': 'native' });
    expect(node(d.target)['@dev']).toBe('vdb');
    expect(diskElementOnto(POINT_XML, 'vdz', '/x', 'raw')).toBeNull();
  });
});
