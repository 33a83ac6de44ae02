import { HypervisorError } from '../errors.js';
import type { HostInfo, PowerState, VmDetails, VmSummary } from '../types.js';
import { imageVirtualSize } from './bitmaps.js';
import { parseDomainXml, type DomainInfo } from './domain-xml.js';
import type { Virsh } from './virsh.js';

export function powerState(domstate: string): PowerState {
  const s = domstate.trim().split('\n')[0]?.trim() ?? '';
  if (s === 'running') return 'running';
  if (s === 'paused') return 'paused';
  if (s === 'shut off' || s === 'crashed') return 'stopped';
  return 'other';
}

export async function listHosts(virsh: Virsh): Promise<HostInfo[]> {
  const [hostname, version, nodeinfo] = await Promise.all([virsh.run(['hostname']), virsh.run(['version']), virsh.run(['nodeinfo'])]);
  const field = (label: string) => new RegExp(`^${label}:\\s*(.+)$`, 'm').exec(nodeinfo)?.[1]?.trim() ?? '';
  const hv = /Running hypervisor:\s*(\S+)\s+(\S+)/.exec(version);
  return [
    {
      name: hostname.trim(),
      hypervisor: hv?.[1] ?? 'QEMU',
      version: hv?.[2] ?? '',
      cpus: Number(field('CPU\\(s\\)')) || 0,
      memoryBytes: (Number(field('Memory size').split(/\s+/)[0]) || 0) * 1024,
    },
  ];
}

export async function listVms(virsh: Virsh): Promise<VmSummary[]> {
  // One line per domain: "<id|-> <name> <state…>"; names cannot contain spaces in libvirt.
  const out = await virsh.run(['list', '--all', '--uuid', '--name']);
  const vms: VmSummary[] = [];
  for (const line of out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const [uuid, name] = line.split(/\s+/);
    if (!uuid || !name) continue;
    let state: string;
    try {
      state = await virsh.run(['domstate', uuid]);
    } catch (error) {
      // Undefined between the list and this read: it is gone, as if it had not been listed.
      if (error instanceof HypervisorError && error.code === 'HV_VM_NOT_FOUND') continue;
      throw error;
    }
    vms.push({ uuid, name, power: powerState(state) });
  }
  return vms;
}

export type DomainSnapshot = {
  info: DomainInfo;
  /** The persistent definition (no runtime state): what a restore defines again. */
  xml: string;
  power: PowerState;
  sizes: Map<string, number>;
};

/** The domain as it is now: live XML when running (it names QEMU's user and node layout), else the persistent one. */
export async function describeDomain(virsh: Virsh, nameOrUuid: string): Promise<DomainSnapshot> {
  const power = powerState(await virsh.run(['domstate', nameOrUuid]));
  const info = parseDomainXml(await virsh.run(['dumpxml', nameOrUuid]));
  const xml = await virsh.run(['dumpxml', '--inactive', info.uuid]);
  const sizes = new Map<string, number>();
  for (const d of info.disks) {
    const out = await virsh.tryRun(['domblkinfo', info.uuid, d.target], /not supported|cannot|unable/i);
    const capacity = out ? Number(/Capacity:\s*(\d+)/.exec(out)?.[1]) : NaN;
    if (Number.isFinite(capacity)) sizes.set(d.target, capacity);
    else if (d.sourceType === 'file' && d.source) sizes.set(d.target, await imageVirtualSize(d.source));
    else throw new HypervisorError('HV_COMMAND', `cannot tell the size of disk ${d.target} of ${info.name}`);
  }
  return { info, xml, power, sizes };
}

export async function getVm(virsh: Virsh, nameOrUuid: string): Promise<VmDetails> {
  const { info, xml, power, sizes } = await describeDomain(virsh, nameOrUuid);
  return {
    name: info.name,
    uuid: info.uuid,
    power,
    configXml: xml,
    guestAgent: info.hasGuestAgentChannel,
    disks: info.disks.map((d) => ({
      target: d.target,
      path: d.source,
      format: d.format,
      sizeBytes: sizes.get(d.target) ?? 0,
      cbtCapable: d.format === 'qcow2',
    })),
  };
}
