import { HypervisorError } from '../errors.js';
import type { Virsh } from './virsh.js';

/**
 * Raw bytes per `guest-file-write`. The command travels as one argument of `virsh
 * qemu-agent-command`, and Linux caps one argument at 128 KiB (MAX_ARG_STRLEN): 64 KiB is
 * 87,384 characters of base64, with room for the JSON around it.
 */
export const AGENT_CHUNK = 64 * 1024;

/** What a restored file should keep of the original, as far as the agent allows. */
export type GuestFileMeta = { mode?: number | undefined; uid?: number | undefined; gid?: number | undefined; mtime?: Date | undefined };

/** `report.txt` → `report.txt.restored-20261203T101500Z`: the copy kept beside the guest's own file. */
export function keepBothName(path: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${path}.restored-${stamp}`;
}

/** Re-cuts a stream into pieces of at most `size` bytes (the agent's unit of writing). */
export async function* agentChunks(source: AsyncIterable<Uint8Array>, size = AGENT_CHUNK): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const part of source) {
    let buf = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    while (length + buf.length >= size) {
      const take = size - length;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending);
      buf = buf.subarray(take);
      pending = [];
      length = 0;
    }
    if (buf.length > 0) {
      pending.push(Buffer.from(buf)); // a copy: the source may reuse its buffer
      length += buf.length;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}

/** Where the running guest mounts a file system, or why that cannot be told. */
export type GuestMountOf = { mountPoint: string; device: string } | { notMounted: true } | { unknown: string };

/** `/proc/mounts` as the kernel writes it (spaces and the like in paths as octal escapes). */
export function parseProcMounts(text: string): { device: string; mountPoint: string; type: string }[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[0]!.startsWith('/dev/'))
    .map((f) => ({ device: unescape(f[0]!), mountPoint: unescape(f[1]!), type: f[2]! }));
}

/** An agent's base64 output as trimmed text. */
const agentText = (b64: string | undefined) =>
  Buffer.from(b64 ?? '', 'base64')
    .toString('utf8')
    .trim();

/** Why a VM cannot take files through its agent, in words an operator acts on. */
function agentRefusal(domain: string, message: string): HypervisorError {
  if (/not configured|no agent|guest agent is not (configured|available)/i.test(message)) {
    return new HypervisorError('HV_UNSUPPORTED', `${domain} has no qemu-guest-agent channel: files cannot be restored into it`);
  }
  return new HypervisorError('HV_UNSUPPORTED', `qemu-guest-agent of ${domain} does not answer (${message}): is it installed and running in the guest?`);
}

/**
 * Files written into a running VM through qemu-guest-agent (`guest-file-open`, `-write`,
 * `-close`), and their mode, owner and time set through `guest-exec` where the guest
 * allows it. Nothing here touches the VM's disks from the host: the guest's own file
 * system driver writes, so the file system stays consistent while the VM runs.
 */
export class GuestAgentFiles {
  private constructor(
    private readonly virsh: Virsh,
    readonly domain: string,
  ) {}

  /** Refused, with the reason, when the VM is not running or its agent does not answer. */
  static async open(virsh: Virsh, domain: string): Promise<GuestAgentFiles> {
    const state = (await virsh.run(['domstate', domain])).trim();
    if (state !== 'running') throw new HypervisorError('HV_UNSUPPORTED', `${domain} is ${state || 'not running'}: files are restored into a running VM only`);
    const files = new GuestAgentFiles(virsh, domain);
    try {
      await files.agent('guest-ping', undefined, 10);
    } catch (e) {
      throw agentRefusal(domain, (e as Error).message);
    }
    return files;
  }

  private async agent(execute: string, args?: object, timeoutS = 30): Promise<unknown> {
    const command = JSON.stringify(args === undefined ? { execute } : { execute, arguments: args });
    const out = await this.virsh.run(['qemu-agent-command', this.domain, command, '--timeout', String(timeoutS)]);
    return (JSON.parse(out) as { return: unknown }).return;
  }

  /** Whether `path` exists in the guest (a file the agent can open for reading). */
  async exists(path: string): Promise<boolean> {
    let handle: number;
    try {
      handle = (await this.agent('guest-file-open', { path, mode: 'r' })) as number;
    } catch (e) {
      if (/No such file|not found|ENOENT/i.test((e as Error).message)) return false;
      throw e;
    }
    await this.agent('guest-file-close', { handle });
    return true;
  }

  /** The first `maxBytes` of a guest file, as text (the agent reads at most 48 MiB per call; this reads one call). */
  async readText(path: string, maxBytes = 1024 * 1024): Promise<string> {
    const handle = (await this.agent('guest-file-open', { path, mode: 'r' })) as number;
    try {
      const r = (await this.agent('guest-file-read', { handle, count: maxBytes })) as { 'buf-b64': string };
      return Buffer.from(r['buf-b64'], 'base64').toString('utf8');
    } finally {
      await this.agent('guest-file-close', { handle }).catch(() => undefined);
    }
  }

  /**
   * Where the running guest mounts the file system with this UUID: the guest's own `findfs`
   * names its device (util-linux's and busybox's alike), `/proc/mounts` where it is mounted.
   */
  async mountOf(uuid: string): Promise<GuestMountOf> {
    const found = await this.execFirst(['findfs', '/sbin/findfs', '/usr/sbin/findfs'], [`UUID=${uuid}`]);
    if (found === null) return { unknown: 'the guest has no findfs, or allows no guest-exec' };
    if (found.code !== 0) return { notMounted: true };
    const device = found.stdout;
    const mounts = parseProcMounts(await this.readText('/proc/mounts'));
    const direct = mounts.find((m) => m.device === device);
    if (direct) return { mountPoint: direct.mountPoint, device };
    // /dev/mapper/vg-lv in one, /dev/dm-0 in the other: the same node once links are followed.
    const real = async (path: string) => (await this.exec('readlink', ['-f', '--', path]))?.stdout ?? path;
    const target = await real(device);
    for (const m of mounts) if ((await real(m.device)) === target) return { mountPoint: m.mountPoint, device };
    return { notMounted: true };
  }

  /** The first of `programs` the guest has, run; null when it has none or allows no guest-exec. */
  private async execFirst(programs: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null> {
    for (const program of programs) {
      try {
        const r = await this.exec(program, args);
        if (r === null) return null;
        return r;
      } catch (e) {
        if (/Failed to execute child process|No such file or directory/i.test((e as Error).message)) continue;
        throw e;
      }
    }
    return null;
  }

  /** Runs a program that must succeed; false when the guest allows no guest-exec. */
  private async must(program: string, args: string[]): Promise<boolean> {
    const r = await this.exec(program, args);
    if (r === null) return false;
    if (r.code !== 0)
      throw new HypervisorError(
        'HV_COMMAND',
        `${program} ${args.filter((a) => a !== '--').join(' ')} failed in ${this.domain}: ${r.stderr || `exit ${r.code}`}`,
      );
    return true;
  }

  /** Whether `path` is a folder in the guest (false when the guest allows no guest-exec: nothing is known then). */
  async isDirectory(path: string): Promise<boolean> {
    return (await this.exec('test', ['-d', path]))?.code === 0;
  }

  /** Renames in the guest (over `to` when it exists: how a restored file replaces the guest's at once). */
  rename = (from: string, to: string) => this.must('mv', ['-f', '--', from, to]);

  /** Removes a file in the guest (nothing when it is gone). */
  remove = (path: string) => this.must('rm', ['-f', '--', path]);

  /** A symbolic link at `path` to `target` (replacing what is at `path`). */
  symlink = (target: string, path: string) => this.must('ln', ['-sfn', '--', target, path]);

  /** Writes `data` to `path` (created or truncated); returns the bytes written. `onBytes` sees each piece land. */
  async write(path: string, data: AsyncIterable<Uint8Array>, onBytes?: (bytes: number) => void): Promise<number> {
    const handle = (await this.agent('guest-file-open', { path, mode: 'w' })) as number;
    let written = 0;
    try {
      for await (const piece of agentChunks(data)) {
        const r = (await this.agent('guest-file-write', { handle, 'buf-b64': piece.toString('base64') })) as { count: number };
        if (r.count !== piece.length)
          throw new HypervisorError('HV_COMMAND', `the agent of ${this.domain} wrote ${r.count} of ${piece.length} bytes to ${path}`);
        written += piece.length;
        onBytes?.(piece.length);
      }
      await this.agent('guest-file-flush', { handle });
    } finally {
      await this.agent('guest-file-close', { handle }).catch(() => undefined);
    }
    return written;
  }

  /**
   * Runs a program in the guest (no shell: arguments go as they are; the agent finds a bare
   * name on the guest's PATH) and waits for it.
   * Null when the guest refuses `guest-exec` (blocked in its agent's configuration).
   */
  async exec(path: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null> {
    let pid: number;
    try {
      pid = ((await this.agent('guest-exec', { path, arg: args, 'capture-output': true })) as { pid: number }).pid;
    } catch (e) {
      if (/disabled|not allowed|blocked|has been disabled|CommandNotFound/i.test((e as Error).message)) return null;
      throw e;
    }
    for (let i = 0; i < 600; i++) {
      const s = (await this.agent('guest-exec-status', { pid })) as { exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string };
      if (s.exited) return { code: s.exitcode ?? -1, stdout: agentText(s['out-data']), stderr: agentText(s['err-data']) };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new HypervisorError('HV_COMMAND', `${path} did not finish in the guest of ${this.domain} within 30 s`);
  }

  /** Creates `dir` and its parents in the guest; false when the guest allows no `guest-exec`. */
  makeDirectories = (dir: string) => this.must('mkdir', ['-p', '--', dir]);

  /**
   * Gives `path` the original's owner, mode and modification time, each as far as the guest
   * allows; returns what could not be kept (empty when all was), for the session's log.
   */
  async applyMeta(path: string, meta: GuestFileMeta): Promise<string[]> {
    const steps: [what: string, program: string, args: string[]][] = [];
    if (meta.uid !== undefined && meta.gid !== undefined) steps.push(['owner', 'chown', [`${meta.uid}:${meta.gid}`, '--', path]]);
    if (meta.mode !== undefined) steps.push(['mode', 'chmod', [(meta.mode & 0o7777).toString(8), '--', path]]);
    if (meta.mtime) {
      const t = meta.mtime
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, '');
      // `touch -d` reads local time: the guest's TZ is not ours, so the time is given in UTC explicitly.
      steps.push(['time', 'env', ['TZ=UTC', 'touch', '-m', '-d', t, '--', path]]);
    }
    const notKept: string[] = [];
    for (const [what, program, args] of steps) {
      const r = await this.exec(program, args);
      if (r === null) notKept.push(`${what} (the guest allows no guest-exec)`);
      else if (r.code !== 0) notKept.push(`${what} (${r.stderr || `exit ${r.code}`})`);
    }
    return notKept;
  }
}
