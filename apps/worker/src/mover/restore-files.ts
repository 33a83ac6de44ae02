import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { splitBrowserPath, type FileRestoreRequest, type FileRestoreResult } from '@strongbox/core';
import type { GuestMountFs } from '@strongbox/db';
import type { GuestEntry, GuestfsAppliance } from '@strongbox/guestfs';
import { GuestAgentFiles, keepBothName, type GuestMountOf } from '@strongbox/hypervisors';
import { DiskProgress } from './disk-progress.js';
import { mountScratch, open, serveAppliance, type ServedAppliance } from './mounts.js';
import { restoreFigures, type RestoreRun } from './run-restore.js';

const KiB = 1024;
const size = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= KiB ? `${(n / KiB).toFixed(1)} KiB` : `${n} bytes`);

/** One chosen entry: where it is in the point, and where it goes in the running guest. */
type Item = { entry: GuestEntry; device: string; guestPath: string };

/**
 * Where each file system of the point is mounted in the running guest: found by its UUID
 * (the appliance's, looked up by the guest itself), never from a path in the request. A file
 * system the guest does not have mounted refuses the whole restore before anything is written.
 */
export async function guestRoots(
  filesystems: readonly GuestMountFs[],
  keys: readonly string[],
  mountOf: (uuid: string) => Promise<GuestMountOf>,
  vm: string,
): Promise<Map<string, string>> {
  const roots = new Map<string, string>();
  for (const key of new Set(keys)) {
    const fs = filesystems.find((f) => f.key === key);
    if (!fs) throw new Error(`the point has no file system ${key}`);
    if (!fs.uuid) throw new Error(`${key} (${fs.type}) has no UUID: where ${vm} mounts it cannot be told, so its files are not restored into it`);
    const at = await mountOf(fs.uuid);
    if ('unknown' in at) throw new Error(`where ${vm} mounts ${key} (UUID ${fs.uuid}) cannot be told: ${at.unknown}; download the files instead`);
    if ('notMounted' in at)
      throw new Error(`${key} (${fs.type}, UUID ${fs.uuid}) is not mounted in ${vm}: mount it in the guest, or download the files instead`);
    roots.set(key, at.mountPoint);
  }
  return roots;
}

/** A guest path under a mount point: `/mnt/vdb1` + `/docs/a.txt`; `/` + `/etc/x` is `/etc/x`. */
export const underRoot = (root: string, inner: string) => posix.join(root, inner);

/** Every entry chosen: a file as it is, a folder with everything under it, parents before children. */
async function chosenItems(appliance: GuestfsAppliance, fs: GuestMountFs, inner: string, root: string): Promise<Item[]> {
  const top = await appliance.stat(fs.device, inner);
  const items: Item[] = [{ entry: top, device: fs.device, guestPath: underRoot(root, top.path) }];
  if (top.type === 'directory') {
    for await (const e of appliance.walk(fs.device, inner)) items.push({ entry: e, device: fs.device, guestPath: underRoot(root, e.path) });
  }
  return items.sort((a, b) => (a.entry.path < b.entry.path ? -1 : a.entry.path > b.entry.path ? 1 : 0));
}

const metaOf = (e: GuestEntry) => ({ uid: e.uid, gid: e.gid, mode: e.mode, mtime: e.mtime });

/**
 * One file from the point into the guest, whole or not at all: written to a hidden name
 * beside `place`, given the original's owner, mode and time, then renamed over `place`; on
 * any failure the hidden copy is removed and the guest's own file is as it was.
 */
async function writeWhole(
  agent: GuestAgentFiles,
  appliance: GuestfsAppliance,
  { entry, device }: Item,
  place: string,
  sessionId: string,
  onBytes: (n: number) => void,
): Promise<{ written: number; notKept: string[] }> {
  const temporary = `${posix.dirname(place)}/.${posix.basename(place)}.strongbox-${sessionId.slice(0, 8)}`;
  try {
    const written = await agent.write(temporary, appliance.readFile(device, entry.path), onBytes);
    if (written !== entry.size) throw new Error(`${entry.path}: ${written} bytes read from the point, ${entry.size} expected`);
    const notKept = await agent.applyMeta(temporary, metaOf(entry));
    if (!(await agent.rename(temporary, place))) throw new Error(`${agent.domain} allows no guest-exec: a restored file cannot be put in place whole`);
    return { written, notKept };
  } catch (error) {
    await agent.remove(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * A guest file restore: the chosen files and folders read from the point through a
 * libguestfs appliance (the file browser's when it is open on this mover, else one of its
 * own) and written into the running VM through its guest agent. Each file is written to a
 * temporary name beside its place and renamed over it once whole, so a failure never
 * leaves half a file where the guest's was; keep-both writes beside the guest's file.
 * Folders are made, links made again, owner, mode and time kept where the guest allows.
 * One log line per file; progress in bytes, as a disk's.
 */
export async function restoreGuestFiles(run: RestoreRun, request: FileRestoreRequest): Promise<FileRestoreResult> {
  const started = Date.now();
  const { resolved, ctx } = run;
  const files = resolved.files;
  const target = resolved.targetVm;
  if (!files || !target) throw new Error('this file restore carries no file browser or VM');
  const vm = await run.connector.getVm(target.externalId);
  const agent = await GuestAgentFiles.open(run.connector.virsh, vm.name);
  const keys = request.paths.map((p) => splitBrowserPath(p).key);
  const roots = await guestRoots(files.filesystems, keys, (uuid) => agent.mountOf(uuid), vm.name);
  await run.say('info', `${vm.name} mounts ${[...roots].map(([k, r]) => `${k} at ${r}`).join(', ')}`);

  const live = open.get(files.mountId);
  let own: ServedAppliance | undefined;
  const scratch = mountScratch(ctx.workDir, `restore-${run.unit.sessionId}`);
  let appliance: GuestfsAppliance;
  if (live) {
    appliance = live.appliance;
    live.lastUsed = Date.now();
  } else {
    await run.say('info', 'the file browser is not open on this mover: starting an appliance of its own on the point');
    own = await serveAppliance(ctx, run.reader, scratch, run.unit.sessionId, run.stop.signal);
    appliance = own.appliance;
  }
  try {
    const items: Item[] = [];
    for (const path of request.paths) {
      const { key, inner } = splitBrowserPath(path);
      const fs = files.filesystems.find((f) => f.key === key)!;
      items.push(...(await chosenItems(appliance, fs, inner, roots.get(key)!)));
    }
    const total = items.reduce((n, i) => n + (i.entry.type === 'file' ? i.entry.size : 0), 0);
    await run.say('info', `${items.filter((i) => i.entry.type === 'file').length} file(s), ${size(total)}, to restore`);
    const task = run.tasks[0]!;
    await ctx.runs.mover.startDisk(run.unit, task.id, 'files');
    const progress = new DiskProgress(ctx.runs, run.unit, task.id, () => Promise.resolve(null), run.throttle, run.stop, ctx.log);
    let done = 0;
    let lastReport = 0;
    const figures = () => restoreFigures({ bytesDone: done, totalBytes: total, rate: done / Math.max(0.001, (Date.now() - started) / 1000) }, run.throttle, 0);
    progress.report(figures());
    const result: FileRestoreResult = {
      restore: 'files',
      target: vm.name,
      files: 0,
      folders: 0,
      keptBoth: 0,
      skipped: 0,
      metaNotKept: 0,
      bytesWritten: 0,
      durationMs: 0,
    };
    const made = new Set<string>();
    const ensureDir = async (dir: string) => {
      if (made.has(dir)) return;
      await agent.makeDirectories(dir);
      made.add(dir);
    };
    // Folders the restore makes get the original's owner, mode and time at the end (writing into one changes its time).
    const newFolders: Item[] = [];
    for (const { entry, device, guestPath } of items) {
      run.stop.signal.throwIfAborted();
      if (entry.type === 'directory') {
        if (!(await agent.exists(guestPath))) newFolders.push({ entry, device, guestPath });
        await ensureDir(guestPath);
        result.folders++;
        continue;
      }
      if (entry.type === 'other') {
        result.skipped++;
        await run.say('warning', `${guestPath}: not a file, folder or link (mode ${entry.mode.toString(8)}): left out`);
        continue;
      }
      await ensureDir(posix.dirname(guestPath));
      const exists = await agent.exists(guestPath);
      if (exists && (await agent.isDirectory(guestPath)))
        throw new Error(`${guestPath} is a folder in ${vm.name}, a ${entry.type} in the point: restore it under another name or remove the folder first`);
      const place = request.mode === 'keep-both' && exists ? keepBothName(guestPath, new Date(started)) : guestPath;
      if (place !== guestPath) result.keptBoth++;
      if (entry.type === 'symlink') {
        await agent.symlink(entry.linkTarget ?? '', place);
        result.files++;
        await run.say('info', `${place} → ${entry.linkTarget ?? ''}: link restored`);
        continue;
      }
      const { written, notKept } = await writeWhole(agent, appliance, { entry, device, guestPath }, place, run.unit.sessionId, (n) => {
        done += n;
        run.stop.signal.throwIfAborted();
        if (Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          progress.report(figures());
        }
      });
      result.files++;
      result.bytesWritten += written;
      if (notKept.length > 0) result.metaNotKept++;
      const as = place === guestPath ? (exists ? 'over the guest’s file' : 'where it was') : `as ${posix.basename(place)}, beside the guest’s file`;
      await run.say(
        notKept.length > 0 ? 'warning' : 'info',
        `${guestPath}: ${size(written)} restored ${as}${notKept.length > 0 ? `; not kept: ${notKept.join(', ')}` : ''}`,
      );
    }
    for (const f of newFolders.reverse()) {
      const notKept = await agent.applyMeta(f.guestPath, metaOf(f.entry));
      if (notKept.length > 0) await run.say('warning', `${f.guestPath}: folder made; not kept: ${notKept.join(', ')}`);
    }
    progress.report(figures());
    await progress.flush();
    await ctx.runs.mover.finishDisk(run.unit, task.id);
    return { ...result, durationMs: Date.now() - started };
  } finally {
    if (own) {
      await own.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
