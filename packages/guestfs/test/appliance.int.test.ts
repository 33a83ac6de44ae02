import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, guestfsEnvironment, labUnavailableReason, makeFsImage, type GuestfsEnvironment } from '../../../scripts/lab/index.js';
import { GuestfsAppliance, GuestfsError, GuestPathError, killAppliance, type GuestEntry } from '../src/index.js';
import { groupPids, md5OfFile, md5OfStream, pgrepFull, serveNbd, sh } from './helpers.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`SKIPPING guestfs integration tests: ${unavailable}`);

const WALK_FILES = 20_000;
const ODD_DIR = 'odd names';
const ODD_FILE = `it's a "file" | with\\back\\'slash.txt`;
const XFS_FILES = { 'docs/readme.txt': 'read me on XFS\n', 'docs/sub/notes.txt': 'notes\n'.repeat(1000) };

describe.skipIf(unavailable !== null)('GuestfsAppliance on an ext4 partition and XFS on LVM, over NBD', () => {
  const dir = mkdtempSync('/var/tmp/strongbox-guestfs-test-');
  const src = join(dir, 'src');
  const ext4 = join(dir, 'ext4.raw');
  const xfs = join(dir, 'xfs.raw');
  const workDir = join(dir, 'work');
  const servers: ChildProcess[] = [];
  const phases: string[] = [];
  const bigData = randomBytes(300 * 1024 + 17);
  let env: GuestfsEnvironment;
  let appliance: GuestfsAppliance;
  let imageMd5: [string, string];
  let child: ChildProcess | null = null;
  let childPid: Promise<number>;

  beforeAll(async () => {
    const paths = await ensureLab();
    env = await guestfsEnvironment(paths);
    mkdirSync(join(src, 'etc/nested/deep'), { recursive: true });
    writeFileSync(join(src, 'etc/hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(src, 'etc/shadow'), 'secret\n');
    chmodSync(join(src, 'etc/shadow'), 0o640);
    chownSync(join(src, 'etc/shadow'), 1000, 1000);
    writeFileSync(join(src, 'etc/nested/deep/big.bin'), bigData);
    symlinkSync('../hosts', join(src, 'etc/nested/link'));
    mkdirSync(join(src, ODD_DIR));
    writeFileSync(join(src, ODD_DIR, ODD_FILE), 'odd\n');
    for (let d = 0; d < WALK_FILES / 1000; d++) {
      const sub = join(src, 'many', `d${String(d).padStart(2, '0')}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 1000; f++) writeFileSync(join(sub, `f${String(f).padStart(4, '0')}`), `${d}/${f}\n`);
    }
    await makeFsImage(paths, { target: ext4, format: 'raw', sizeMiB: 160, fs: 'ext4-partitioned', sourceDir: src });
    const t0 = Date.now();
    await makeFsImage(paths, { target: xfs, format: 'raw', sizeMiB: 512, fs: 'xfs-lvm', files: XFS_FILES });
    console.log(`xfs-lvm image (template cached after the first build): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    imageMd5 = [await md5OfFile(ext4), await md5OfFile(xfs)];

    // The janitor's case runs beside: a process that launches its own appliance, to be SIGKILLed.
    // node itself (not the tsx wrapper, which would leave its node child behind when killed).
    child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'launch-child.ts'), ext4, join(dir, 'child-work')], {
      cwd: join(import.meta.dirname, '../../..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    childPid = new Promise((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child!.on('exit', (code) => reject(new Error(`launch child exited (${code}) before its appliance was up`)));
    });
    childPid.catch(() => undefined); // awaited by its test

    servers.push(await serveNbd(ext4, join(dir, 'ext4.sock'), 'vda'));
    servers.push(await serveNbd(xfs, join(dir, 'xfs.sock'), 'vdb'));
    const started = Date.now();
    appliance = await GuestfsAppliance.launch({
      drives: [
        { uri: `nbd:///vda?socket=${join(dir, 'ext4.sock')}`, format: 'raw', name: 'vda' },
        { uri: `nbd:///vdb?socket=${join(dir, 'xfs.sock')}`, format: 'raw', name: 'vdb' },
      ],
      workDir,
      env: { ...env },
      onPhase: (phase) => phases.push(phase),
    });
    console.log(`appliance launch: ${((Date.now() - started) / 1000).toFixed(1)} s (TCG, two NBD drives)`);
  }, 600_000);

  afterAll(async () => {
    await appliance?.close();
    child?.kill('SIGKILL');
    for (const s of servers) s.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports its phases and lists both file systems with type, label, size and drive', async () => {
    expect(phases).toEqual(['starting', 'booting', 'ready']);
    const fss = await appliance.filesystems();
    expect(fss).toContainEqual(
      expect.objectContaining({ device: '/dev/sda1', type: 'ext4', label: 'sbdata', drive: 0, mountable: true, sizeBytes: 159 * 1024 * 1024 }),
    );
    expect(fss).toContainEqual(expect.objectContaining({ device: '/dev/sbvg/data', type: 'xfs', label: 'sbxfs', drive: 1, mountable: true }));
    for (const fs of fss) expect(fs.uuid === null || /^[0-9a-f-]{8,}$/i.test(fs.uuid)).toBe(true);
  });

  it('lists a folder with sizes, modes, owners and link targets, folders first', async () => {
    const etc = await appliance.list('/dev/sda1', '/etc');
    expect(etc.map((e) => e.name)).toEqual(['nested', 'hosts', 'shadow']);
    const shadow = etc.find((e) => e.name === 'shadow')!;
    expect(shadow).toMatchObject({ path: '/etc/shadow', type: 'file', size: 7, uid: 1000, gid: 1000 });
    expect(shadow.mode & 0o7777).toBe(0o640);
    expect(shadow.mode & 0o170000).toBe(0o100000);
    expect(Math.abs(shadow.mtime.getTime() - statSync(join(src, 'etc/shadow')).mtime.getTime())).toBeLessThan(1000);
    const nested = await appliance.list('/dev/sda1', '/etc/nested');
    expect(nested.map((e): Partial<GuestEntry> => ({ name: e.name, type: e.type, linkTarget: e.linkTarget }))).toEqual([
      { name: 'deep', type: 'directory', linkTarget: undefined },
      { name: 'link', type: 'symlink', linkTarget: '../hosts' },
    ]);
    const root = await appliance.list('/dev/sda1', '//./');
    expect(root.map((e) => e.name)).toEqual(['etc', 'lost+found', 'many', ODD_DIR]);
    const odd = await appliance.list('/dev/sda1', `/${ODD_DIR}`);
    expect(odd.map((e) => [e.name, e.size])).toEqual([[ODD_FILE, 4]]);
    expect(await appliance.stat('/dev/sda1', `/${ODD_DIR}/${ODD_FILE}`)).toMatchObject({ name: ODD_FILE, type: 'file', size: 4 });
    const docs = await appliance.list('/dev/sbvg/data', '/docs');
    expect(docs.map((e) => [e.name, e.type])).toEqual([
      ['sub', 'directory'],
      ['readme.txt', 'file'],
    ]);
  });

  it('refuses bad paths, unknown devices and missing files with typed errors', async () => {
    await expect(appliance.list('/dev/sda1', '/etc/../..')).rejects.toBeInstanceOf(GuestPathError);
    await expect(appliance.list('/dev/sda1', 'etc')).rejects.toMatchObject({ code: 'GUESTFS_BAD_PATH', field: 'path' });
    await expect(appliance.list('/dev/sda1', '/nope')).rejects.toMatchObject({ code: 'GUESTFS_NOT_FOUND' });
    await expect(appliance.list('/dev/sda1', '/etc/hosts')).rejects.toMatchObject({ code: 'GUESTFS_NOT_A_DIRECTORY' });
    await expect(appliance.list('/dev/sdz9', '/')).rejects.toMatchObject({ code: 'GUESTFS_UNKNOWN_DEVICE' });
    await expect(appliance.stat('/dev/sda1', '/etc/none')).rejects.toBeInstanceOf(GuestfsError);
    await expect(md5OfStream(appliance.readFile('/dev/sda1', '/etc/none'))).rejects.toMatchObject({ code: 'GUESTFS_NOT_FOUND' });
    await expect(md5OfStream(appliance.readFile('/dev/sda1', '/etc'))).rejects.toMatchObject({ code: 'GUESTFS_COMMAND' });
    // After the refusals the appliance still answers.
    expect((await appliance.stat('/dev/sda1', '/etc/hosts')).size).toBe(20);
  });

  it('streams files byte for byte, and a reader that stops early does not wedge the appliance', async () => {
    const expected = await md5OfFile(join(src, 'etc/nested/deep/big.bin'));
    expect(await md5OfStream(appliance.readFile('/dev/sda1', '/etc/nested/deep/big.bin'))).toBe(expected);
    expect(await md5OfStream(appliance.readFile('/dev/sbvg/data', '/docs/sub/notes.txt'))).toBe(
      createHash('md5').update(XFS_FILES['docs/sub/notes.txt']).digest('hex'),
    );
    const early = appliance.readFile('/dev/sda1', '/etc/nested/deep/big.bin');
    await new Promise<void>((resolve) => early.once('data', () => resolve()));
    early.destroy();
    const never = appliance.readFile('/dev/sda1', '/etc/nested/deep/big.bin');
    never.destroy(); // before a byte came
    expect((await appliance.list('/dev/sda1', '/etc')).length).toBe(3);
  });

  it('makes a tar of folders and files, names relative to their common parent', async () => {
    const tar = join(dir, 'out.tar');
    await pipeline(appliance.tarOut('/dev/sda1', ['/etc', `/${ODD_DIR}/${ODD_FILE}`]), createWriteStream(tar));
    const names = sh('tar', ['--quoting-style=literal', '-tf', tar]).split('\n').filter(Boolean).sort();
    expect(names).toEqual(
      ['etc/', 'etc/hosts', 'etc/nested/', 'etc/nested/deep/', 'etc/nested/deep/big.bin', 'etc/nested/link', 'etc/shadow', `${ODD_DIR}/${ODD_FILE}`].sort(),
    );
    const out = join(dir, 'untar');
    mkdirSync(out);
    sh('tar', ['-xpf', tar, '-C', out]);
    expect(readFileSync(join(out, 'etc/nested/deep/big.bin')).equals(bigData)).toBe(true);
    expect(readlinkSync(join(out, 'etc/nested/link'))).toBe('../hosts');
    expect(statSync(join(out, 'etc/shadow')).mode & 0o7777).toBe(0o640);
    expect(statSync(join(out, 'etc/shadow')).uid).toBe(1000);
    expect(readFileSync(join(out, ODD_DIR, ODD_FILE), 'utf8')).toBe('odd\n');
    const one = join(dir, 'one.tar');
    await pipeline(appliance.tarOut('/dev/sbvg/data', ['/docs/readme.txt']), createWriteStream(one));
    expect(sh('tar', ['-xOf', one, 'readme.txt'])).toBe(XFS_FILES['docs/readme.txt']);
  });

  it('walks every entry of a file system', async () => {
    const expected = Number(sh('sh', ['-c', `find '${src}' -mindepth 1 | wc -l`]).trim()) + 1; // + lost+found
    const started = Date.now();
    let count = 0;
    let files = 0;
    const seen = new Set<string>();
    for await (const entry of appliance.walk('/dev/sda1')) {
      count++;
      if (entry.type === 'file') files++;
      seen.add(entry.path);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`walk: ${count} entries in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} entries/s`);
    expect(count).toBe(expected);
    expect(files).toBeGreaterThanOrEqual(WALK_FILES);
    expect(seen.has('/many/d07/f0999')).toBe(true);
    expect(seen.has(`/${ODD_DIR}/${ODD_FILE}`)).toBe(true);
    const xfsPaths: string[] = [];
    for await (const entry of appliance.walk('/dev/sbvg/data', '/docs')) xfsPaths.push(entry.path);
    expect(xfsPaths.sort()).toEqual(['/docs/readme.txt', '/docs/sub', '/docs/sub/notes.txt']);
  });

  it('ends a crashed owner’s appliance through killAppliance', async () => {
    const pid = await childPid;
    expect(groupPids(pid).length).toBeGreaterThan(1); // guestfish and qemu at least
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    expect(groupPids(pid).length).toBeGreaterThan(1); // detached: it outlives its owner
    expect(await killAppliance(pid)).toBe(true);
    expect(groupPids(pid)).toEqual([]);
    expect(await killAppliance(pid)).toBe(false);
    expect(await killAppliance(process.pid)).toBe(false); // not a guestfish: left alone
  }, 300_000);

  it('a launch cancelled while it boots leaves no process and no file', async () => {
    const controller = new AbortController();
    const work = join(dir, 'aborted-work');
    const launching = GuestfsAppliance.launch({
      drives: [{ uri: ext4, format: 'raw' }],
      workDir: work,
      env: { ...env },
      signal: controller.signal,
      onPhase: (phase) => {
        if (phase === 'booting') setTimeout(() => controller.abort(), 500);
      },
    });
    await expect(launching).rejects.toMatchObject({ code: 'GUESTFS_ABORTED' });
    expect(pgrepFull(work)).toEqual([]); // qemu names its overlay under the work folder

    expect(existsSync(work)).toBe(false);
  });

  it('closes leaving no process and no file, and wrote nothing to the drives', async () => {
    const pid = appliance.pid;
    expect(groupPids(pid).length).toBeGreaterThan(1);
    await appliance.close();
    await appliance.close(); // idempotent
    expect(groupPids(pid)).toEqual([]);
    expect(existsSync(workDir) ? readdirSync(workDir) : []).toEqual([]);
    await expect(appliance.list('/dev/sda1', '/')).rejects.toMatchObject({ code: 'GUESTFS_CLOSED' });
    for (const s of servers) s.kill();
    expect([await md5OfFile(ext4), await md5OfFile(xfs)]).toEqual(imageMd5);
  });
});
