import { describe, expect, it } from 'vitest';
import { HypervisorError } from '@strongbox/hypervisors';
import { NbdError } from '@strongbox/nbd';
import { RepositoryError } from '@strongbox/repository';
import { asSentence, explainFailure } from './explain.js';

describe('explainFailure', () => {
  const table: [string, unknown, { vmStoppedMidBackup?: boolean }, RegExp, RegExp | null][] = [
    [
      'a full repository',
      new RepositoryError('REPO_NO_SPACE', 'writing chunk ab…: ENOSPC: no space left on device, write'),
      {},
      /^the repository's file system is full$/,
      /free space/,
    ],
    [
      'a VM gone from the hypervisor',
      new HypervisorError('HV_VM_NOT_FOUND', 'no VM "x" on qemu:///system: error: failed to get domain'),
      {},
      /no longer on the hypervisor/,
      /rescan/,
    ],
    [
      'an export that closed',
      new NbdError('NBD_CONNECTION_CLOSED', 'the server closed the connection (read 0 of 65536)'),
      {},
      /disk export closed/,
      /next run/,
    ],
    [
      'a VM that stopped under the backup, whatever the read said',
      new NbdError('NBD_CONNECTION_CLOSED', 'closed'),
      { vmStoppedMidBackup: true },
      /powered off, rebooted or crashed/,
      /next run/,
    ],
    [
      'required quiescing without an agent',
      new HypervisorError('HV_QUIESCE_FAILED', 'vm1: application-consistent processing is required but the VM has no qemu-guest-agent channel'),
      {},
      /required/,
      /qemu-guest-agent/,
    ],
    ['anything else: its first line, short', new Error(`virsh failed\n${'x'.repeat(50)}\nmore`), {}, /^virsh failed$/, null],
  ];
  it.each(table)('%s', (_name, error, context, reason, action) => {
    const explained = explainFailure(error, context);
    expect(explained.reason).toMatch(reason);
    if (action) expect(explained.action).toMatch(action);
    else expect(explained.action).toBeNull();
    expect(asSentence(explained)).not.toContain('\n');
  });

  it('never passes on a stack or a long message', () => {
    const long = new Error('y'.repeat(1000));
    expect(explainFailure(long).reason.length).toBeLessThanOrEqual(240);
  });
});
