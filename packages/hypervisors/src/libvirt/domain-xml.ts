import { HypervisorError } from '../errors.js';
import { list, node, parseXml, text } from './xml.js';

export type DomainDisk = {
  /** Target device, e.g. `vda`: the name libvirt's backup and checkpoint XML use. */
  target: string;
  bus: string;
  /** Image path (file disks) or device path (block disks). */
  source: string;
  sourceType: 'file' | 'block' | 'network' | 'volume' | string;
  /** Driver format: `qcow2`, `raw`, … */
  format: string;
  readOnly: boolean;
};

export type DomainInfo = {
  name: string;
  uuid: string;
  disks: DomainDisk[];
  hasGuestAgentChannel: boolean;
  /** uid:gid QEMU runs as (from the live DAC seclabel), when known. */
  qemuOwner: { uid: number; gid: number } | null;
};

export function parseDomainXml(xml: string): DomainInfo {
  const domain = node(parseXml(xml, 'domain XML').domain);
  const name = text(domain.name);
  const uuid = text(domain.uuid);
  if (!name || !uuid) throw new HypervisorError('HV_BAD_XML', 'domain XML without name or uuid');
  const devices = node(domain.devices);
  const disks: DomainDisk[] = [];
  for (const d of list(devices.disk)) {
    if (d['@device'] !== undefined && d['@device'] !== 'disk') continue; // cdrom, floppy, lun
    const target = node(d.target);
    const source = node(d.source);
    const driver = node(d.driver);
    const dev = target['@dev'];
    if (typeof dev !== 'string') continue;
    disks.push({
      target: dev,
      bus: String(target['@bus'] ?? ''),
      source: String(source['@file'] ?? source['@dev'] ?? source['@name'] ?? ''),
      sourceType: String(d['@type'] ?? 'file'),
      format: String(driver['@type'] ?? 'raw'),
      readOnly: 'readonly' in d,
    });
  }
  const hasGuestAgentChannel = list(devices.channel).some((c) => node(c.target)['@name'] === 'org.qemu.guest_agent.0');
  let qemuOwner: DomainInfo['qemuOwner'] = null;
  for (const s of list(domain.seclabel)) {
    const label = text(s.label);
    const m = s['@model'] === 'dac' && label ? /^\+?(\d+):\+?(\d+)$/.exec(label) : null;
    if (m) qemuOwner = { uid: Number(m[1]), gid: Number(m[2]) };
  }
  return { name, uuid, disks, hasGuestAgentChannel, qemuOwner };
}
