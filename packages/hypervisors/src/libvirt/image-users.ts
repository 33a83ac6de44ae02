import { existsSync, realpathSync } from 'node:fs';
import { normalize } from 'node:path';
import { list, node, parseXml } from './xml.js';
import type { Virsh } from './virsh.js';

export type ImageUser = { vm: string; running: boolean };

/** Every file or device path a domain XML's disks name, backing chains included. */
export function diskPaths(xml: string): string[] {
  const devices = node(node(parseXml(xml, 'domain XML').domain).devices);
  const paths: string[] = [];
  const walk = (d: Record<string, unknown>) => {
    const source = node(d.source);
    const path = source['@file'] ?? source['@dev'];
    if (typeof path === 'string') paths.push(path);
    if (d.backingStore) walk(node(d.backingStore));
  };
  list(devices.disk).forEach(walk);
  return paths;
}

/** A path as compared with another: resolved through symlinks when it exists here. */
export function canonical(path: string): string {
  return existsSync(path) ? realpathSync(path) : normalize(path);
}

/**
 * The domains whose disks (or backing chains) include `path`: running ones by their live
 * definition, every defined one by its persistent definition.
 */
export async function imageUsers(virsh: Virsh, path: string, resolve: (p: string) => string = canonical): Promise<ImageUser[]> {
  const wanted = resolve(path);
  const running = new Set(lines(await virsh.run(['list', '--name'])));
  const users: ImageUser[] = [];
  for (const vm of lines(await virsh.run(['list', '--all', '--name']))) {
    const xmls = [await virsh.tryRun(['dumpxml', '--inactive', vm], /not found|no domain/i)];
    if (running.has(vm)) xmls.push(await virsh.tryRun(['dumpxml', vm], /not found|no domain/i));
    const paths = xmls.flatMap((x) => (x ? diskPaths(x) : []));
    if (paths.some((p) => resolve(p) === wanted)) users.push({ vm, running: running.has(vm) });
  }
  return users;
}

export function lines(out: string): string[] {
  return out
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}
