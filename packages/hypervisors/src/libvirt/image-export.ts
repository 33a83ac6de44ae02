import type { ChildProcess } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { HypervisorError } from '../errors.js';
import type { ImageExport, ImageExportOptions, ImageFormat } from '../types.js';
import { JobDir } from '../work-dir.js';
import { imageBitmaps, imageVirtualSize } from './bitmaps.js';
import { canonical, imageUsers } from './image-users.js';
import { recordOf, startQemuNbd, stopQemuNbd } from './qemu-nbd.js';
import type { Virsh } from './virsh.js';

export type ExportContext = { virsh: Virsh; workDir: string; isLocal: boolean };

const FORMATS: readonly string[] = ['qcow2', 'raw'];
const LOCKED = /Failed to get "?\w+"? lock|Is another process using the image/i;

/** Whether the image's file system takes O_DIRECT (most do; some FUSE and older tmpfs do not). */
async function directIoWorks(path: string): Promise<boolean> {
  try {
    const fd = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    await fd.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EINVAL') return false;
    throw new HypervisorError('HV_EXPORT', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Serves one image with qemu-nbd on a unix socket in a job directory, so that a restore
 * writes it (or reads what changed since a bitmap). The job directory names the owner:
 * when the owner dies, the janitor kills the qemu-nbd (which holds the image's lock) and
 * deletes the volume the restore was writing.
 *
 * `--cache=none --aio=native`: a restore writes gigabytes once; through the page cache
 * they would push out what the host's VMs have cached and pile up as dirty pages that the
 * final flush waits for. Direct I/O keeps the host's memory to its VMs and makes written
 * mean on disk (the writer still sends FLUSH for the device's cache and qcow2 metadata).
 * Where the file system refuses O_DIRECT, `writeback` it is. `--discard=unmap`: the
 * writer's TRIM and WRITE_ZEROES make holes, so the image stays sparse.
 */
export async function openImageExport(ctx: ExportContext, path: string, format: ImageFormat, options: ImageExportOptions = {}): Promise<ImageExport> {
  if (!ctx.isLocal) {
    throw new HypervisorError('HV_UNSUPPORTED', `${path} is on a remote host: qemu-nbd exports images on the mover's host, so run a mover there`);
  }
  if (!FORMATS.includes(format)) throw new HypervisorError('HV_RESTORE', `an image is qcow2 or raw, not ${String(format)}`);
  const connections = options.connections ?? 4;
  if (!Number.isInteger(connections) || connections < 1 || connections > 16) {
    throw new HypervisorError('HV_RESTORE', `an export takes 1 to 16 connections, not ${connections}`);
  }
  if (!existsSync(path)) throw new HypervisorError('HV_RESTORE', `there is no image at ${path}`);
  const running = (await imageUsers(ctx.virsh, path, canonical)).filter((u) => u.running);
  if (running.length > 0) {
    throw new HypervisorError('HV_BUSY', `${path} is a disk of running VM ${running.map((u) => u.vm).join(', ')}: power it off first`);
  }
  if (options.bitmap !== undefined) await checkBitmap(path, format, options.bitmap);
  const sizeBytes = await imageVirtualSize(path);
  const direct = await directIoWorks(path);

  const job = await JobDir.createExport(ctx.workDir, { uri: ctx.virsh.uri, image: path, ownedVolume: options.ownedVolume ?? null });
  const socket = join(job.path, 'export.sock');
  const args = [
    '--persistent',
    `--shared=${connections}`,
    '--format',
    format,
    direct ? '--cache=none' : '--cache=writeback',
    direct ? '--aio=native' : '--aio=threads',
    '--discard=unmap',
    '--socket',
    socket,
  ];
  if (options.readOnly) args.push('--read-only');
  if (options.bitmap !== undefined) args.push('--bitmap', options.bitmap);
  args.push(path);
  let started: ChildProcess | undefined;
  try {
    started = await startQemuNbd(args, socket);
    await job.update({ qemuNbd: recordOf([started]) });
  } catch (e) {
    if (started) await stopQemuNbd(started);
    await job.remove();
    if (e instanceof HypervisorError && LOCKED.test(e.message)) {
      throw new HypervisorError('HV_BUSY', `${path} is in use by another process (QEMU holds its lock): ${e.message}`, { cause: e });
    }
    throw e;
  }
  const server = started;
  let closed: Promise<void> | null = null;
  return {
    endpoint: { kind: 'unix', path: socket },
    exportName: '',
    sizeBytes,
    close: () =>
      (closed ??= (async () => {
        try {
          await stopQemuNbd(server);
        } finally {
          await job.remove();
        }
      })()),
  };
}

async function checkBitmap(path: string, format: ImageFormat, bitmap: string): Promise<void> {
  if (format !== 'qcow2') throw new HypervisorError('HV_UNSUPPORTED', `${path} is ${format}: only qcow2 images carry bitmaps`);
  const found = (await imageBitmaps(path)).find((b) => b.name === bitmap);
  if (!found) throw new HypervisorError('HV_RESTORE', `${path} has no bitmap ${bitmap}`);
  if (found.inconsistent) throw new HypervisorError('HV_RESTORE', `bitmap ${bitmap} of ${path} was not stored cleanly (QEMU stopped without saving it)`);
  if (!found.recording) throw new HypervisorError('HV_RESTORE', `bitmap ${bitmap} of ${path} is disabled: it does not list the changes since its checkpoint`);
}
