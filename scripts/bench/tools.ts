import { spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Extent } from './layout.js';

/**
 * restic and borg as the bench runs them (child processes, so they never count in our
 * peak RSS), and the few system chores the bench needs.
 */

export type BenchTool = {
  name: 'ours' | 'restic' | 'borg';
  repoDir: string;
  /** Untimed: creates the repository. */
  init(): Promise<void>;
  /** Each returns a short note for the phase line. */
  full(image: string): Promise<string>;
  incremental(image: string, changed: readonly Extent[]): Promise<string>;
  /** Restores the latest point under `targetDir`; returns the restored image's path. */
  restore(image: string, targetDir: string): Promise<string>;
  /** Called on Ctrl-C: stop what is in flight. */
  abort(): Promise<void>;
};

const children = new Set<ChildProcess>();

/** Ctrl-C: stops the tool running now (only children this process started). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGTERM');
}

/** Runs a command without a shell; resolves with its stdout. `showStderr` passes its progress through. */
export async function exec(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; showStderr?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (options.showStderr ? process.stdout.write(b) : err.push(b)));
    child.on('error', (e) => (children.delete(child), reject(new Error(`${command}: ${e.message}`))));
    child.on('close', (code, signal) => {
      children.delete(child);
      const stderr = Buffer.concat(err).toString().trim();
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}): ${stderr.split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function has(binary: string): Promise<boolean> {
  return exec('sh', ['-c', `command -v ${binary}`]).then(
    () => true,
    () => false, // not found: the caller installs it or reports na
  );
}

const isRoot = () => process.getuid?.() === 0;

/** Installs the missing ones with apt when root; returns which are usable. */
export async function ensureTools(log: (line: string) => void): Promise<{ restic: boolean; borg: boolean }> {
  const wanted = { restic: 'restic', borg: 'borgbackup' } as const;
  const missing: (keyof typeof wanted)[] = [];
  for (const binary of Object.keys(wanted) as (keyof typeof wanted)[]) if (!(await has(binary))) missing.push(binary);
  if (missing.length > 0 && isRoot()) {
    const packages = missing.map((b) => wanted[b]);
    log(`tools: installing ${packages.join(' ')} with apt`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...packages];
    try {
      await exec('apt-get', install, { env });
    } catch {
      // Most often stale package lists on a fresh machine: refresh once and retry, loudly this time.
      await exec('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env });
      await exec('apt-get', install, { env }).catch((e: Error) => log(`tools: apt failed: ${e.message}`));
    }
  } else if (missing.length > 0) {
    log(`tools: ${missing.join(', ')} missing and not root: their figures are na`);
  }
  return { restic: await has('restic'), borg: await has('borg') };
}

/**
 * Empties the page cache so that every timed phase reads from the disk, for every tool
 * alike; returns false when not allowed (not root, or a read-only /proc in a container).
 */
export async function dropCaches(): Promise<boolean> {
  if (!isRoot()) return false;
  await exec('sync', []);
  return writeFile('/proc/sys/vm/drop_caches', '3\n').then(
    () => true,
    () => false, // read-only /proc: the caller said at start whether caches are dropped
  );
}

/** Space the directory takes on disk (allocated blocks, as `du`), for every repository alike. */
export async function diskUsage(dir: string): Promise<number> {
  const st = await lstat(dir);
  if (!st.isDirectory()) return st.blocks * 512;
  let total = st.blocks * 512;
  for (const entry of await readdir(dir)) total += await diskUsage(join(dir, entry));
  return total;
}

export function resticTool(workDir: string): BenchTool {
  const repoDir = join(workDir, 'restic-repo');
  const env = { ...process.env, RESTIC_REPOSITORY: repoDir, RESTIC_PASSWORD: 'strongbox-bench', RESTIC_CACHE_DIR: join(workDir, 'restic-cache') };
  const restic = (...args: string[]) => exec('restic', args, { env });
  return {
    name: 'restic',
    repoDir,
    async init() {
      // Format 2 compresses (zstd): what restic ≥ 0.16 creates by default, the fair comparison.
      const v2 = (await restic('init', '--help')).includes('--repository-version');
      await restic('init', ...(v2 ? ['--repository-version', '2'] : []));
    },
    full: async (image) => (await restic('backup', '--quiet', '--host', 'strongbox-bench', image), 'reads the whole image'),
    // No extent list in restic: it rereads the whole file and dedups by content.
    incremental: async (image) => (await restic('backup', '--quiet', '--host', 'strongbox-bench', image), 'rereads the whole image (no CBT)'),
    async restore(image, targetDir) {
      const sparse = (await restic('restore', '--help')).includes('--sparse') ? ['--sparse'] : [];
      await restic('restore', 'latest', '--quiet', '--target', targetDir, ...sparse);
      return join(targetDir, image);
    },
    abort: async () => killChildren(),
  };
}

export function borgTool(workDir: string): BenchTool {
  const repoDir = join(workDir, 'borg-repo');
  const env = {
    ...process.env,
    BORG_REPO: repoDir,
    // Keys, cache and security records under the work dir, so that cleanup removes them.
    BORG_BASE_DIR: join(workDir, 'borg-home'),
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  };
  const borg = (args: string[], cwd?: string) => exec('borg', args, { env, cwd });
  return {
    name: 'borg',
    repoDir,
    init: async () => void (await borg(['init', '-e', 'none'])),
    full: async (image) => (await borg(['create', '--compression', 'lz4', '::full', image]), 'lz4, reads the whole image'),
    incremental: async (image) => (await borg(['create', '--compression', 'lz4', '::incr', image]), 'rereads the whole image (no CBT)'),
    async restore(image, targetDir) {
      await mkdir(targetDir, { recursive: true });
      await borg(['extract', '--sparse', '::incr'], targetDir);
      return join(targetDir, image.replace(/^\/+/, '')); // borg stores paths without the leading /
    },
    abort: async () => killChildren(),
  };
}
