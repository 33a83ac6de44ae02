import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { addDriveArgs, driveIndexOfDevice, type GuestDrive } from './drives.js';
import { compareEntries, type GuestEntry } from './entries.js';
import { GuestfsError } from './errors.js';
import { FifoReader } from './fifo.js';
import { parseFilesystemList, parseStructList, splitNul } from './fish-syntax.js';
import { GuestfishProcess } from './guestfish-process.js';
import { joinGuestPath, normalizeGuestPath } from './paths.js';
import { statNames, statOne } from './stat-batch.js';
import { tarStream } from './tar-out.js';

export type GuestFilesystem = {
  /** `/dev/sda1`, `/dev/vg0/data`. */
  device: string;
  /** ext4, xfs, vfat, swap, unknown… as libguestfs names it. */
  type: string;
  label: string | null;
  uuid: string | null;
  sizeBytes: number;
  /** Index into the drives given to `launch`; -1 when it is not one disk's (e.g. an LV over several). */
  drive: number;
  mountable: boolean;
};

export type LaunchOptions = {
  drives: GuestDrive[];
  /** Private files (FIFOs, listings, libguestfs's temporary folder and overlays) go under here; removed at close. */
  workDir: string;
  /** Merged over process.env (libguestfs's settings: `guestfsEnvironment()` of the lab). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onPhase?: (phase: 'starting' | 'booting' | 'ready') => void;
};

type Mount = GuestFilesystem & { mountPoint: string | null; mountError: string | null };

/** Types that hold no files to browse. */
const NOT_FILES = new Set(['swap', 'unknown', 'LVM2_member', 'linux_raid_member', 'crypto_LUKS']);
/** Names per `find0` batch read back for `lstatnslist` (the line limit may cut a batch shorter). */
const WALK_BATCH = 1000;
/** A unix socket path must stay under 108 bytes; libguestfs puts its sockets in XDG_RUNTIME_DIR. */
const MAX_SOCKET_DIR = 70;

/**
 * One libguestfs appliance over a set of drives, every file system mounted read-only at its
 * own mount point (`/sbfs<n>`), kept up while a user browses: its boot costs ~25–36 s under
 * TCG, so callers hold one per mount, never one per request.
 */
export class GuestfsAppliance {
  private mounts: Promise<Mount[]> | null = null;
  private closing: Promise<void> | null = null;
  private files = 0;

  private constructor(
    private readonly fish: GuestfishProcess,
    private readonly workDir: string,
    private readonly drives: GuestDrive[],
  ) {}

  /** The guestfish process, leader of the process group that holds qemu too. */
  get pid(): number {
    return this.fish.pid;
  }

  static async launch(options: LaunchOptions): Promise<GuestfsAppliance> {
    if (options.drives.length === 0) throw new GuestfsError('GUESTFS_LAUNCH', 'an appliance needs at least one drive');
    const driveArgs = options.drives.map(addDriveArgs);
    options.signal?.throwIfAborted();
    const tmp = join(options.workDir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, TMPDIR: tmp };
    // Without a cache folder libguestfs builds its appliance under TMPDIR, i.e. once per mount.
    env.LIBGUESTFS_CACHEDIR ??= '/var/tmp';
    const run = join(options.workDir, 'run');
    if (run.length <= MAX_SOCKET_DIR) {
      await mkdir(run, { recursive: true, mode: 0o700 });
      env.XDG_RUNTIME_DIR = run;
    }
    options.onPhase?.('starting');
    const fish = new GuestfishProcess(env);
    const appliance = new GuestfsAppliance(fish, options.workDir, options.drives);
    // guestfish reads `quit` only after `run` returns: a cancelled boot is killed instead.
    const abort = () => {
      appliance.killGroup();
      void appliance.close();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      for (const args of driveArgs) await fish.run('add-drive', ...args);
      options.onPhase?.('booting');
      await fish.run('run');
      options.signal?.throwIfAborted();
      options.onPhase?.('ready');
      return appliance;
    } catch (e) {
      await appliance.close();
      if (options.signal?.aborted) throw new GuestfsError('GUESTFS_ABORTED', 'the appliance launch was cancelled', { cause: e });
      const message = e instanceof Error ? e.message : String(e);
      throw new GuestfsError('GUESTFS_LAUNCH', `the libguestfs appliance did not start: ${message}`, { cause: e });
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  /** Every file system of the drives (partitions, LVM LVs, whole disks), each mounted read-only when it can be. */
  async filesystems(): Promise<GuestFilesystem[]> {
    return (await this.mounted()).map(({ mountPoint: _m, mountError: _e, ...fs }) => fs);
  }

  /** One directory: each entry lstat'ed (a symlink is not followed), directories first, then by name. */
  async list(device: string, path: string): Promise<GuestEntry[]> {
    const guestPath = normalizeGuestPath(path);
    const dir = await this.hostPath(device, guestPath);
    const listing = this.privateFile('ls');
    try {
      await this.fish.run('ls0', dir, listing);
      const names = splitNul(await readFile(listing)).items;
      const entries = await statNames(this.fish, dir, guestPath, names);
      return entries.sort(compareEntries);
    } finally {
      await rm(listing, { force: true });
    }
  }

  async stat(device: string, path: string): Promise<GuestEntry> {
    const guestPath = normalizeGuestPath(path);
    return statOne(this.fish, await this.hostPath(device, guestPath), guestPath);
  }

  /** A file's bytes as they stream out of the appliance (a FIFO: never staged whole). Errors end the stream. */
  readFile(device: string, path: string): Readable {
    const guestPath = normalizeGuestPath(path);
    return this.streamOut(new PassThrough(), async () => {
      const source = await this.hostPath(device, guestPath);
      const entry = await statOne(this.fish, source, guestPath);
      if (entry.type !== 'file') throw new GuestfsError('GUESTFS_COMMAND', `${guestPath} is not a regular file (${entry.type})`);
      return this.download('download', [source]);
    });
  }

  /**
   * An uncompressed tar stream of files and folders (a folder with all it holds). Member
   * names are relative to the paths' common parent folder, so that a selection in one folder
   * gives its names as they are. Symbolic links are stored as links, never followed.
   */
  tarOut(device: string, paths: string[]): Readable {
    const guestPaths = paths.map((p, i) => normalizeGuestPath(p, `paths[${i}]`));
    if (guestPaths.length === 0) throw new GuestfsError('GUESTFS_BAD_PATH', 'nothing to put in the archive');
    return Readable.from(
      tarStream(guestPaths, {
        stat: async (p) => statOne(this.fish, await this.hostPath(device, p), p),
        file: async (p) => this.download('download', [await this.hostPath(device, p)]),
        directory: async (p) => this.download('tar-out', [await this.hostPath(device, p)]),
      }),
      { objectMode: false },
    );
  }

  /**
   * Every entry under `root` (not `root` itself), for indexing: one `find0` into a file of
   * ours, then `lstatnslist` in batches, read as the caller iterates.
   */
  async *walk(device: string, root = '/'): AsyncIterable<GuestEntry> {
    const guestRoot = normalizeGuestPath(root, 'root');
    const dir = await this.hostPath(device, guestRoot);
    const listing = this.privateFile('find');
    try {
      await this.fish.run('find0', dir, listing);
      let rest: Buffer = Buffer.alloc(0);
      let batch: string[] = [];
      for await (const chunk of createReadStream(listing, { highWaterMark: 1 << 20 })) {
        const split = splitNul(Buffer.concat([rest, chunk as Buffer]));
        rest = split.rest;
        for (const item of split.items) {
          // find0 prints `/a/b` (relative to the folder, with a leading slash); find prints `a/b`.
          const name = item.replace(/^\/+/, '');
          if (!name) continue;
          batch.push(name);
          if (batch.length < WALK_BATCH) continue;
          yield* await this.statBatch(dir, guestRoot, batch);
          batch = [];
        }
      }
      const last = rest.toString('utf8').replace(/^\/+/, '');
      if (last) batch.push(last);
      if (batch.length) yield* await this.statBatch(dir, guestRoot, batch);
    } finally {
      await rm(listing, { force: true });
    }
  }

  /**
   * lstat of `find0` names (relative to `dir`), asked per parent folder: basenames are shorter
   * than paths, so more fit on one guestfish line.
   */
  private async statBatch(dir: string, guestRoot: string, names: string[]): Promise<GuestEntry[]> {
    const byParent = new Map<string, string[]>();
    for (const name of names) {
      const at = name.lastIndexOf('/');
      const parent = at < 0 ? '' : name.slice(0, at);
      let group = byParent.get(parent);
      if (!group) byParent.set(parent, (group = []));
      group.push(name.slice(at + 1));
    }
    const entries: GuestEntry[] = [];
    for (const [parent, group] of byParent) {
      entries.push(...(await statNames(this.fish, joinGuestPath(dir, parent), joinGuestPath(guestRoot, parent), group)));
    }
    return entries;
  }

  /** Quits the appliance (SIGKILL of its group if it does not go), removes the work folder. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.fish.quit();
    const quit = await Promise.race([this.fish.whenExited().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 15_000).unref())]);
    this.killGroup(); // also after a clean quit: nothing of the group may outlive the mount
    if (!quit) await this.fish.whenExited();
    await rm(this.workDir, { recursive: true, force: true });
  }

  private killGroup(): void {
    if (this.fish.pid <= 0) return;
    try {
      process.kill(-this.fish.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is gone already, as it should be after a clean quit.
    }
  }

  private mounted(): Promise<Mount[]> {
    this.mounts ??= this.discover();
    return this.mounts;
  }

  private async discover(): Promise<Mount[]> {
    const found = parseFilesystemList(await this.fish.run('list-filesystems'));
    const lvDrives = await this.lvDrives(found.map((f) => f.device));
    const mounts: Mount[] = [];
    for (const [i, { device, type }] of found.entries()) {
      const label = await this.optional('vfs-label', device);
      const uuid = await this.optional('vfs-uuid', device);
      const sizeBytes = Number((await this.fish.run('blockdev-getsize64', device)).trim());
      const drive = driveIndexOfDevice(device) ?? lvDrives.get(device) ?? -1;
      const mount: Mount = { device, type, label, uuid, sizeBytes, drive, mountable: false, mountPoint: null, mountError: null };
      if (NOT_FILES.has(type)) mount.mountError = `a ${type} volume holds no files`;
      else {
        const point = `/sbfs${i}`;
        await this.fish.run('mkmountpoint', point);
        mount.mountError = await this.mountReadOnly(device, type, point);
        mount.mountable = mount.mountError === null;
        if (mount.mountable) mount.mountPoint = point;
      }
      mounts.push(mount);
    }
    return mounts;
  }

  /**
   * Mounts read-only; a journal that needs replaying (a crash-consistent point) is replayed
   * into libguestfs's overlay, and when even that fails, the file system is read as it is.
   */
  private async mountReadOnly(device: string, type: string, point: string): Promise<string | null> {
    try {
      await this.fish.run('mount-ro', device, point);
      return null;
    } catch (e) {
      const skipJournal = type === 'xfs' ? 'ro,norecovery' : /^ext[34]$/.test(type) ? 'ro,noload' : null;
      if (skipJournal) {
        const again = await this.fish.run('mount-options', skipJournal, device, point).then(
          () => null,
          (e2: Error) => e2.message,
        );
        if (again === null) return null;
      }
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** The drive of each LVM logical volume: that of the first physical volume of its group. */
  private async lvDrives(devices: string[]): Promise<Map<string, number>> {
    const map = new Map<string, number>();
    const lvs = devices.filter((d) => driveIndexOfDevice(d) === null && /^\/dev\/[^/]+\/[^/]+$/.test(d));
    if (lvs.length === 0) return map;
    const pvs = parseStructList(await this.fish.run('pvs-full'));
    const norm = (uuid: string) => uuid.replace(/-/g, '');
    for (const lv of lvs) {
      const vg = lv.split('/')[2]!;
      const uuids = (await this.optional('vgpvuuids', vg))?.split('\n').map(norm) ?? [];
      const pv = pvs.find((p) => p.pv_uuid !== undefined && uuids.includes(norm(p.pv_uuid)));
      const index = pv?.pv_name ? driveIndexOfDevice(pv.pv_name) : null;
      if (index !== null && index < this.drives.length) map.set(lv, index);
    }
    return map;
  }

  /** A command's trimmed output, or null when it fails (a label of a volume that has none). */
  private async optional(command: string, ...args: string[]): Promise<string | null> {
    try {
      const out = (await this.fish.run(command, ...args)).replace(/\n$/, '');
      return out === '' ? null : out;
    } catch (e) {
      if (e instanceof GuestfsError && e.code === 'GUESTFS_CLOSED') throw e;
      return null; // no label, no UUID: a fact about the volume, not a failure
    }
  }

  /** Where a guest path of a file system is inside the appliance. */
  private async hostPath(device: string, guestPath: string): Promise<string> {
    const fs = (await this.mounted()).find((m) => m.device === device);
    if (!fs) throw new GuestfsError('GUESTFS_UNKNOWN_DEVICE', `no file system ${JSON.stringify(device)} on this mount`);
    if (!fs.mountPoint) throw new GuestfsError('GUESTFS_NOT_MOUNTABLE', `${device} (${fs.type}) cannot be mounted: ${fs.mountError ?? 'unknown reason'}`);
    return joinGuestPath(fs.mountPoint, guestPath.slice(1));
  }

  private privateFile(kind: string): string {
    return join(this.workDir, `${kind}-${++this.files}`);
  }

  /**
   * Runs a command that writes into a FIFO of ours (its last argument) and gives the FIFO's
   * stream at once; the queue stays held until the command has returned.
   */
  private download(command: 'download' | 'tar-out', args: string[]): Promise<Readable> {
    return new Promise<Readable>((resolve, reject) => {
      this.fish
        .exclusive(async () => {
          const fifo = await FifoReader.create(this.privateFile('fifo'));
          resolve(fifo.readable);
          const error = await this.fish.send(command, [...args, fifo.path]).then(
            () => undefined,
            (e: Error) => e,
          );
          await fifo.finish(error);
        })
        .catch(reject); // FIFO setup failed (after resolve, reject is a no-op)
    });
  }

  /** `out` carries what `open` gives, errors included; `out` closed early stops the source. */
  private streamOut(out: PassThrough, open: () => Promise<Readable>): Readable {
    open().then(
      (source) => {
        if (out.destroyed) {
          source.destroy(); // the reader left while the command was being set up
          return;
        }
        out.on('close', () => source.destroy());
        source.on('error', (e) => out.destroy(e));
        source.pipe(out);
      },
      (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))),
    );
    return out;
  }
}
