import { basename, join } from 'node:path';
import { HypervisorError } from '../errors.js';
import type { ImageFormat, RestoredDisk } from '../types.js';
import {
  attr,
  buildOrdered,
  childrenOf,
  element,
  elements,
  first,
  parseOrdered,
  putChild,
  removeChildren,
  rootOf,
  setAttr,
  setText,
  tagOf,
  type XNode,
} from './ordered-xml.js';

export type DomainRewrite = {
  name: string;
  /** The new VM's UUID, or null to keep the point's (`keepIdentity`). */
  uuid: string | null;
  disks: Map<string, RestoredDisk>;
  networks: 'connected' | 'disconnected';
  keepIdentity: boolean;
  socketDir: string;
};

export type RewrittenDomain = {
  xml: string;
  /** Disk targets of the point left out (not restored). */
  droppedDisks: string[];
  /** Unix socket paths of the point → of the new VM. */
  movedSockets: Map<string, string>;
};

/** libvirt makes paths here itself for channels without one; a copied path would collide with the original's. */
const LIBVIRT_CHANNEL_DIR = '/var/lib/libvirt/qemu/channel/';

const isDiskDevice = (d: XNode) => (attr(d, 'device') ?? 'disk') === 'disk';
const isRemovable = (d: XNode) => ['cdrom', 'floppy'].includes(attr(d, 'device') ?? 'disk');

/**
 * Points a `<disk>` at a standalone image: a file source, the driver's format, and none
 * of what belonged to the old storage (backing chain, block job mirror, network auth,
 * encryption — the restore wrote what the guest sees, in clear, into a new image).
 */
export function pointDiskAt(disk: XNode, path: string, format: ImageFormat): void {
  setAttr(disk, 'type', 'file');
  removeChildren(disk, (c) => ['backingStore', 'mirror', 'auth', 'encryption'].includes(tagOf(c)!));
  const driver = first(disk, 'driver');
  if (driver) setAttr(driver, 'type', format);
  else childrenOf(disk).unshift(element('driver', { name: 'qemu', type: format }));
  const source = element('source', { file: path });
  const kids = childrenOf(disk);
  const at = kids.findIndex((c) => tagOf(c) === 'source');
  if (at >= 0) kids[at] = source;
  else kids.splice(kids.indexOf(first(disk, 'driver')!) + 1, 0, source);
}

/** The point's domain XML as a new VM's definition. Pure: the caller checks names and defines it. */
export function rewriteDomainXml(xml: string, rw: DomainRewrite): RewrittenDomain {
  const doc = parseOrdered(xml, 'the restore point’s domain XML');
  const domain = rootOf(doc, 'domain', 'the restore point’s domain XML');
  const devices = first(domain, 'devices');
  if (!devices) throw new HypervisorError('HV_BAD_XML', 'the restore point’s domain XML has no <devices>');

  const nameNode = first(domain, 'name');
  if (nameNode) setText(nameNode, rw.name);
  else childrenOf(domain).unshift(element('name', {}, [{ '#text': rw.name }]));
  if (rw.uuid) putChild(domain, 'uuid', element('uuid', {}, [{ '#text': rw.uuid }]), childrenOf(domain).indexOf(first(domain, 'name')!) + 1);
  // A restored VM is a VM restored from backup: the VM generation ID tells guests (AD domain controllers) so.
  const genid = first(domain, 'genid');
  if (genid) setText(genid, '');
  if (!rw.keepIdentity) dropIdentity(domain);

  const targets = elements(devices, 'disk')
    .filter(isDiskDevice)
    .map((d) => attr(first(d, 'target') ?? {}, 'dev'));
  for (const t of rw.disks.keys()) {
    if (!targets.includes(t)) throw new HypervisorError('HV_RESTORE', `the restore point’s VM has no disk ${t} (it has ${targets.join(', ') || 'none'})`);
  }
  const droppedDisks: string[] = [];
  removeChildren(devices, (d) => {
    if (tagOf(d) !== 'disk' || isRemovable(d)) return false;
    const dev = attr(first(d, 'target') ?? {}, 'dev') ?? '';
    // A LUN passes a host's SCSI device through: nothing of it is in the point.
    if (!isDiskDevice(d)) {
      droppedDisks.push(dev);
      return true;
    }
    const restored = rw.disks.get(dev);
    if (restored) {
      pointDiskAt(d, restored.path, restored.format);
      return false;
    }
    droppedDisks.push(dev);
    return true;
  });
  // CD-ROMs and floppies stay, empty: their media are host files a restore does not carry.
  for (const d of elements(devices, 'disk').filter(isRemovable)) {
    setAttr(d, 'type', 'file');
    removeChildren(d, (c) => ['source', 'backingStore', 'mirror', 'auth', 'encryption'].includes(tagOf(c)!));
  }

  for (const nic of elements(devices, 'interface')) {
    if (!rw.keepIdentity) removeChildren(nic, (c) => tagOf(c) === 'mac' || tagOf(c) === 'target');
    if (rw.networks === 'disconnected') putChild(nic, 'link', element('link', { state: 'down' }));
  }
  for (const g of elements(devices, 'graphics')) {
    if (rw.keepIdentity || attr(g, 'autoport') === 'yes' || attr(g, 'port') === undefined || attr(g, 'port') === '-1') continue;
    // A fixed port would be taken by the original VM.
    for (const a of ['port', 'tlsPort', 'websocket']) setAttr(g, a, undefined);
    setAttr(g, 'autoport', 'yes');
  }
  const movedSockets = moveSockets(devices, rw.socketDir);
  return { xml: buildOrdered(doc), droppedDisks, movedSockets };
}

/** A new VM: libvirt generates MACs; the SMBIOS UUID (must equal the domain's) and the NVRAM file (per VM) go. */
function dropIdentity(domain: XNode): void {
  for (const sysinfo of elements(domain, 'sysinfo')) {
    for (const system of elements(sysinfo, 'system')) removeChildren(system, (e) => tagOf(e) === 'entry' && attr(e, 'name') === 'uuid');
  }
  const os = first(domain, 'os');
  const nvram = os && first(os, 'nvram');
  if (os && nvram) {
    // With a template and no path libvirt makes `<name>_VARS.fd` from the template; the original's vars are not in the point.
    if (attr(nvram, 'template')) setText(nvram, '');
    else removeChildren(os, (e) => e === nvram);
  }
}

/** Unix sockets QEMU binds (consoles, channels, graphics) are per VM: each moves into `dir`, keeping its file name. */
function moveSockets(devices: XNode, dir: string): Map<string, string> {
  const moved = new Map<string, string>();
  const place = (old: string): string => {
    const known = moved.get(old);
    if (known) return known;
    const taken = new Set(moved.values());
    let candidate = join(dir, basename(old));
    for (let i = 1; taken.has(candidate); i++) candidate = join(dir, `${i}-${basename(old)}`);
    moved.set(old, candidate);
    return candidate;
  };
  for (const dev of elements(devices)) {
    if (attr(dev, 'type') === 'unix') {
      for (const source of elements(dev, 'source')) {
        const path = attr(source, 'path');
        if (attr(source, 'mode') !== 'bind' || !path) continue;
        setAttr(source, 'path', path.startsWith(LIBVIRT_CHANNEL_DIR) ? undefined : place(path));
      }
    }
    if (tagOf(dev) === 'graphics') {
      for (const listen of elements(dev, 'listen')) {
        const socket = attr(listen, 'socket');
        if (attr(listen, 'type') === 'socket' && socket) setAttr(listen, 'socket', place(socket));
      }
    }
  }
  return moved;
}

/** Disk targets of a domain XML, every device kind (what a new disk's target must avoid). */
export function diskTargets(xml: string): string[] {
  const domain = rootOf(parseOrdered(xml, 'domain XML'), 'domain', 'domain XML');
  const devices = first(domain, 'devices');
  return devices ? elements(devices, 'disk').map((d) => attr(first(d, 'target') ?? {}, 'dev') ?? '') : [];
}

/** The `<disk>` of `target` in a domain XML, rewritten onto `path`, as XML for `virsh update-device`. */
export function diskElementOnto(xml: string, target: string, path: string, format: ImageFormat): string | null {
  const domain = rootOf(parseOrdered(xml, 'domain XML'), 'domain', 'domain XML');
  const disk = elements(first(domain, 'devices') ?? {}, 'disk').find((d) => attr(first(d, 'target') ?? {}, 'dev') === target);
  if (!disk) return null;
  pointDiskAt(disk, path, format);
  return buildOrdered([disk]);
}
