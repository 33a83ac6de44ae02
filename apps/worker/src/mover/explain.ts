import { CodedError, messageOf } from '@strongbox/core';

/** A failure as the operator reads it in the session and the email: one sentence, and what fixes it when something does. */
export type Explained = { reason: string; action: string | null };

/** What the mover knew when the VM failed, beyond the error itself. */
export type FailureContext = {
  /** The VM was running when its view was opened and is not running now: it stopped under the backup. */
  vmStoppedMidBackup?: boolean;
};

const firstLine = (text: string) => {
  const line = text.split('\n')[0]!.trim();
  return line.length > 240 ? `${line.slice(0, 237)}…` : line;
};

const CODES: Record<string, (message: string) => Explained> = {
  REPO_NO_SPACE: () => ({
    reason: "the repository's file system is full",
    action: 'free space on it or give it more; space reclamation runs after this session, and the next run writes only what is missing',
  }),
  REPO_NOT_FOUND: (m) => ({ reason: firstLine(m), action: 'mount the repository on this mover, or correct its path in Infrastructure' }),
  REPO_IO: (m) => ({ reason: `the repository could not be read or written (${firstLine(m)})`, action: 'check the file system of the repository' }),
  HV_VM_NOT_FOUND: () => ({ reason: 'the VM is no longer on the hypervisor', action: 'rescan the connection, or take the VM out of the job' }),
  HV_UNREACHABLE: (m) => ({ reason: firstLine(m), action: "check that the host is up and the connection's URI and SSH key are right" }),
  HV_QUIESCE_FAILED: (m) => ({
    reason: firstLine(m),
    action: "install and start qemu-guest-agent in the guest, or turn off 'require successful processing' in the job",
  }),
  HV_BUSY: (m) => ({ reason: firstLine(m), action: null }),
  DISK_GONE: (m) => ({ reason: firstLine(m), action: 'rescan the inventory; the next run backs up the disks the VM has' }),
  NBD_CONNECTION_CLOSED: () => ({ reason: "the VM's disk export closed while it was read", action: 'the next run reads it again' }),
  NBD_CONNECT: () => ({ reason: "the VM's disk export could not be reached", action: 'the next run tries again' }),
  NBD_TIMEOUT: () => ({ reason: "the VM's disk export stopped answering", action: 'the next run tries again' }),
  QUEUE_JOB_TIMEOUT: (m) => ({ reason: firstLine(m), action: 'split the job, or raise the repository and proxy limits' }),
};

/**
 * Why a VM failed, in the operator's words: the error's code chooses the sentence; a VM
 * that stopped under its backup is said to have stopped, whatever the read reported
 * (libvirt ends the export when the guest powers off, crashes or reboots). The error's own
 * message stays in the worker's log and the session's detail line.
 */
export function explainFailure(error: unknown, context: FailureContext = {}): Explained {
  if (context.vmStoppedMidBackup) {
    return {
      reason: 'the VM was powered off, rebooted or crashed during its backup',
      action: 'the next run backs it up again (its changes are still tracked)',
    };
  }
  const code =
    error instanceof CodedError ? error.code : typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : null;
  const known = code ? CODES[code] : undefined;
  return known ? known(messageOf(error)) : { reason: firstLine(messageOf(error)), action: null };
}

/** The explained failure as one line: the reason, then what to do. */
export const asSentence = ({ reason, action }: Explained) => (action ? `${reason}; ${action}` : reason);
