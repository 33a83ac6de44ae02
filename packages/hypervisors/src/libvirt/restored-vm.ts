import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { HypervisorError } from '../errors.js';
import type { PowerState, RestoredVmSpec, VmSummary } from '../types.js';
import { rewriteDomainXml } from './domain-rewrite.js';
import { powerState as parsePowerState } from './inventory.js';
import { node, parseXml, text } from './xml.js';
import type { Virsh } from './virsh.js';

/** Where a restored VM's unix sockets go unless the caller names a directory; removed with the VM. */
export const RESTORED_SOCKET_ROOT = '/var/lib/libvirt/strongbox/vms';
const FORMATS: readonly string[] = ['qcow2', 'raw'];

export type VmContext = { virsh: Virsh; isLocal: boolean };

export function checkVmName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || name.length > 100) {
    throw new HypervisorError('HV_RESTORE', `"${name}" is not a VM name: letters, digits and . _ + - only, starting with a letter or digit`);
  }
}

/** The domain's name, or null when libvirt knows no domain of that name or UUID. */
export async function domainName(virsh: Virsh, nameOrUuid: string): Promise<string | null> {
  try {
    // dominfo takes a name, a UUID or an id alike (domname takes no name).
    const info = await virsh.run(['dominfo', nameOrUuid]);
    return /^Name:\s*(\S+)/m.exec(info)?.[1] ?? nameOrUuid;
  } catch (e) {
    if (e instanceof HypervisorError && e.code === 'HV_VM_NOT_FOUND') return null;
    throw e;
  }
}

/** Writes XML to a private temporary file for virsh (which reads it and sends it to libvirtd) and removes it after. */
export async function withXmlFile<T>(xml: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strongbox-xml-'));
  try {
    const file = join(dir, 'def.xml');
    await writeFile(file, xml, { mode: 0o600 });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Defines the VM of a restore point anew: its name, a new UUID (ours, so that a second
 * restore of the same name is refused by libvirt rather than redefining the first), no
 * MACs (libvirt makes new ones), the restored disks, links down when disconnected, its own
 * sockets. See domain-rewrite.ts for all that changes.
 */
export async function defineRestoredVm(ctx: VmContext, spec: RestoredVmSpec): Promise<VmSummary> {
  const { virsh } = ctx;
  checkVmName(spec.name);
  for (const [target, d] of spec.disks) {
    if (!isAbsolute(d.path)) throw new HypervisorError('HV_RESTORE', `disk ${target}: ${d.path} is not an absolute path`);
    if (!FORMATS.includes(d.format)) throw new HypervisorError('HV_RESTORE', `disk ${target}: an image is qcow2 or raw, not ${String(d.format)}`);
  }
  if (await domainName(virsh, spec.name)) throw new HypervisorError('HV_EXISTS', `a VM named ${spec.name} already exists on ${virsh.uri}`);
  let uuid: string = randomUUID();
  if (spec.keepIdentity) {
    uuid = text(node(parseXml(spec.configXml, 'the restore point’s domain XML').domain).uuid) ?? uuid;
    const holder = await domainName(virsh, uuid);
    if (holder) throw new HypervisorError('HV_EXISTS', `VM ${holder} has UUID ${uuid}: a restore keeping the identity needs the original VM gone`);
  }
  const socketDir = spec.socketDir ?? join(RESTORED_SOCKET_ROOT, spec.name);
  const rewritten = rewriteDomainXml(spec.configXml, {
    name: spec.name,
    uuid,
    disks: spec.disks,
    networks: spec.networks,
    keepIdentity: spec.keepIdentity,
    socketDir,
  });
  const madeDir = rewritten.movedSockets.size > 0 && ctx.isLocal && !existsSync(socketDir);
  if (madeDir) await mkdir(socketDir, { recursive: true, mode: 0o755 });
  try {
    await withXmlFile(rewritten.xml, (file) => virsh.run(['define', file]));
  } catch (e) {
    if (madeDir) await rm(socketDir, { recursive: true, force: true });
    if (/already exists/i.test((e as Error).message))
      throw new HypervisorError('HV_EXISTS', `cannot define ${spec.name}: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  return { name: spec.name, uuid, power: 'stopped' };
}

/**
 * Removes a powered-off VM's definition with its checkpoint and snapshot metadata, NVRAM,
 * TPM state and managed save, and its default socket directory; its volumes stay
 * (deleteVolume). A VM that does not exist is fine.
 */
export async function undefineVm(ctx: VmContext, name: string): Promise<void> {
  const { virsh } = ctx;
  const state = await powerStateOrNull(virsh, name);
  if (state === null) return;
  if (state !== 'stopped') throw new HypervisorError('HV_BUSY', `${name} is ${state}: power it off (destroyVm) before removing it`);
  await virsh.tryRun(
    ['undefine', name, '--checkpoints-metadata', '--snapshots-metadata', '--managed-save', '--nvram', '--tpm'],
    /failed to get domain|Domain not found|no domain with matching/i,
  );
  const dir = join(RESTORED_SOCKET_ROOT, name);
  if (ctx.isLocal && existsSync(dir)) await rm(dir, { recursive: true, force: true });
}

export async function powerStateOrNull(virsh: Virsh, name: string): Promise<PowerState | null> {
  try {
    return parsePowerState(await virsh.run(['domstate', name]));
  } catch (e) {
    if (e instanceof HypervisorError && e.code === 'HV_VM_NOT_FOUND') return null;
    throw e;
  }
}

export async function powerState(virsh: Virsh, name: string): Promise<PowerState> {
  return parsePowerState(await virsh.run(['domstate', name]));
}

/** Starts a VM; one already running is fine. */
export async function startVm(virsh: Virsh, name: string): Promise<void> {
  await virsh.tryRun(['start', name], /already active|is already running/i);
}

/** Powers a VM off at once (as pulling its plug); one already off is fine. */
export async function destroyVm(virsh: Virsh, name: string): Promise<void> {
  await virsh.tryRun(['destroy', name], /domain is not running|not running/i);
}
