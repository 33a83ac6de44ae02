import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processesWhere } from '@strongbox/config';
import type { DiskReader } from '@strongbox/core';
import {
  defineLabVm,
  destroyLabVm,
  ensureLab,
  labUnavailableReason,
  startLabVm,
  type GuestConsole,
  type LabPaths,
  type LabVm,
  type LabVmSpec,
} from '../../../scripts/lab/index.js';
import type { BackupView } from '../src/index.js';

export { labUnavailableReason };
export const LAB_URI = 'qemu:///system';
export const MiB = 1024 * 1024;

export const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING libvirt integration tests: ${unavailable}`);

let paths: LabPaths | null = null;
export async function lab(): Promise<LabPaths> {
  paths ??= await ensureLab();
  return paths;
}

export async function labVm(spec: Omit<LabVmSpec, 'name'> & { name: string }): Promise<{ vm: LabVm; guest: GuestConsole }> {
  const p = await lab();
  const vm = await defineLabVm(p, spec);
  const guest = await startLabVm(vm);
  return { vm, guest };
}

export async function removeLabVm(name: string): Promise<void> {
  await destroyLabVm(await lab(), name);
}

export const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', LAB_URI, ...args], { encoding: 'utf8' });

/** A test work dir, so the janitor in one test never meets another run's jobs. */
export function workDir(name: string): string {
  const dir = join('/var/tmp', `strongbox-test-${process.pid}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export type Copied = { bytesRead: number; extents: number; zeroBytes: number };

/**
 * The data path in its simplest form: every extent of a reader written into a raw file
 * (on top of the previous point's file for an incremental). Enough to prove that what
 * the reader lists and returns rebuilds the disk.
 */
export async function readerToRaw(reader: DiskReader, file: string, previous?: string): Promise<Copied> {
  if (previous) copyFileSync(previous, file);
  const fd = openSync(file, previous ? 'r+' : 'w');
  ftruncateSync(fd, reader.size);
  const copied: Copied = { bytesRead: 0, extents: 0, zeroBytes: 0 };
  const piece = 4 * MiB;
  try {
    for await (const e of reader.extents()) {
      copied.extents++;
      for (let at = e.offset; at < e.offset + e.length; at += piece) {
        const n = Math.min(piece, e.offset + e.length - at);
        if (e.zero) {
          writeSync(fd, Buffer.alloc(n), 0, n, at);
          copied.zeroBytes += n;
          continue;
        }
        const data = await reader.read(at, n);
        writeSync(fd, data, 0, n, at);
        copied.bytesRead += n;
      }
    }
  } finally {
    closeSync(fd);
    await reader.close();
  }
  return copied;
}

/** Reads every disk of a view into `<dir>/<target>.raw`, incrementally over `previousDir` when given. */
export async function backupToDir(view: BackupView, dir: string, previousDir?: string): Promise<Record<string, Copied>> {
  mkdirSync(dir, { recursive: true });
  const out: Record<string, Copied> = {};
  for (const d of view.disks) {
    const prev = previousDir ? join(previousDir, `${d.target}.raw`) : undefined;
    if (d.mode === 'changed' && (!prev || !existsSync(prev))) throw new Error(`incremental ${d.target} without a previous point`);
    out[d.target] = await readerToRaw(await view.openReader(d.target), join(dir, `${d.target}.raw`), d.mode === 'changed' ? prev : undefined);
  }
  return out;
}

/** True when the restored raw file holds exactly what the (stopped) VM's image holds. */
export function sameAsImage(raw: string, image: string, format = 'qcow2'): boolean {
  try {
    execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', format, raw, image]);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line mentions `text` (e.g. a qemu-nbd serving from a job dir). */
export const processesMentioning = (text: string): number[] => processesWhere((cmd) => cmd.includes(text));

/** Bitmap names stored in a qcow2 image (of a stopped VM). */
export function imageBitmapNames(path: string): string[] {
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' })) as {
    'format-specific'?: { data?: { bitmaps?: { name: string }[] } };
  };
  return (info['format-specific']?.data?.bitmaps ?? []).map((b) => b.name);
}

/** `length` bytes of a file at `offset`. */
export function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** The first line of a child's output matching `pattern` (the child then waits to be killed). */
export async function childSays(child: ChildProcess, pattern: RegExp): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = pattern.exec(stdout);
      if (m) resolve(m[0]);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before saying ${pattern}: ${stderr}`)));
  });
}

/** `virsh … --raw` lines (` key=value`) as an object. */
export const parseRaw = (out: string) => Object.fromEntries([...out.matchAll(/^\s*(\w+)=(.*)$/gm)].map((m) => [m[1], m[2]!.trim()]));
