import { HypervisorError } from '../errors.js';
import type { SessionLogEntry } from '../types.js';
import type { Virsh } from './virsh.js';

export type Quiesced = { consistency: 'application' | 'crash'; thaw: () => Promise<void> };

async function agentAnswers(virsh: Virsh, domain: string): Promise<string | null> {
  try {
    await virsh.run(['qemu-agent-command', domain, '{"execute":"guest-ping"}', '--timeout', '5']);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Freezes the guest's file systems through qemu-guest-agent when it answers; otherwise
 * the view is crash-consistent, or — when `require` — the VM fails.
 */
export async function quiesce(
  virsh: Virsh,
  domain: string,
  options: { enabled: boolean; require: boolean; hasChannel: boolean },
  log: SessionLogEntry[],
): Promise<Quiesced> {
  const none = { consistency: 'crash' as const, thaw: async () => undefined };
  const fallBack = (why: string, level: 'info' | 'warning' = 'warning'): Quiesced => {
    if (options.require) throw new HypervisorError('HV_QUIESCE_FAILED', `${domain}: application-consistent processing is required but ${why}`);
    log.push({ level, code: 'QUIESCE_SKIPPED', message: `${why}; the backup is crash-consistent` });
    return none;
  };
  if (!options.enabled) {
    if (options.require) throw new HypervisorError('HV_QUIESCE_FAILED', `${domain}: quiescing is required but disabled`);
    return none;
  }
  // No agent configured is a choice, not a fault: said, but not as a warning.
  if (!options.hasChannel) return fallBack('the VM has no qemu-guest-agent channel', 'info');
  const silent = await agentAnswers(virsh, domain);
  if (silent) return fallBack(`qemu-guest-agent does not answer (${silent})`);
  try {
    await virsh.run(['domfsfreeze', domain]);
  } catch (e) {
    return fallBack(`freezing the guest's file systems failed (${(e as Error).message})`);
  }
  log.push({ level: 'info', code: 'QUIESCED', message: 'guest file systems frozen through qemu-guest-agent for the checkpoint' });
  let thawed = false;
  return {
    consistency: 'application',
    thaw: async () => {
      if (thawed) return;
      thawed = true;
      await virsh.run(['domfsthaw', domain]);
    },
  };
}
