import { exec } from '../exec.js';
import { HypervisorError } from '../errors.js';

/**
 * libvirt through `virsh -c URI`. Each call is one process: a few tens of milliseconds,
 * nothing next to moving disk data, and it speaks to local sockets and qemu+ssh:// alike.
 */
export class Virsh {
  constructor(
    readonly uri: string,
    private readonly timeoutMs = 120_000,
  ) {}

  /** Runs virsh; maps its failures to coded errors. */
  async run(args: string[]): Promise<string> {
    const r = await exec('virsh', ['-q', '-c', this.uri, ...args], { timeoutMs: this.timeoutMs }).catch((e: Error) => {
      throw new HypervisorError('HV_COMMAND', `cannot run virsh (is libvirt-clients installed?): ${e.message}`, { cause: e });
    });
    if (r.code === 0) return r.stdout;
    throw this.error(args, r.stderr.trim());
  }

  /** Like run, but a failure matching `benign` returns null (e.g. "no job" when there may be none). */
  async tryRun(args: string[], benign: RegExp): Promise<string | null> {
    try {
      return await this.run(args);
    } catch (e) {
      if (e instanceof HypervisorError && benign.test(e.message)) return null;
      throw e;
    }
  }

  private error(args: string[], stderr: string): HypervisorError {
    const text = stderr
      .replace(/^error:\s*/gm, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (
      /failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|unable to connect to server|No route to host|Connection refused/i.test(
        text,
      )
    ) {
      return new HypervisorError('HV_UNREACHABLE', `libvirt at ${this.uri} is unreachable: ${text}`);
    }
    if (/failed to get domain|Domain not found|no domain with matching/i.test(text)) {
      return new HypervisorError('HV_VM_NOT_FOUND', `no VM "${args.find((a, i) => i > 0 && !a.startsWith('-')) ?? ''}" on ${this.uri}: ${text}`);
    }
    return new HypervisorError('HV_COMMAND', `virsh ${args[0]} failed on ${this.uri}: ${text}`);
  }
}
