'use client';

import { useEffect, useState } from 'react';
import { IMAGE_FORMATS } from '@strongbox/core';
import { api, type FieldError } from '@/components/api-client';
import { bytes } from '@/components/format';
import { toMutationError } from '@/components/use-mutation';
import type { StoragePoolDto } from '@/server/restore-schemas';
import type { RestoreChoices } from './restore-data';
import type { Draft } from './restore-draft';
import { FieldErrors } from './restore-steps';

const input = 'mt-1 w-full rounded border border-slate-300 px-2 py-1';

export type Pools = { pools: StoragePoolDto[] | null; problem: string | null };

/** The storage pools of a connection as its last rescan saw them, read again when the connection changes. */
export function usePools(connectionId: string): Pools {
  const [state, setState] = useState<Pools & { of: string }>({ of: '', pools: null, problem: null });
  useEffect(() => {
    if (!connectionId) return;
    let current = true;
    api<{ data: StoragePoolDto[] }>('GET', `/connections/${connectionId}/pools`).then(
      (r) => {
        if (current) setState({ of: connectionId, pools: r.data, problem: null });
      },
      (e: unknown) => {
        if (current) setState({ of: connectionId, pools: null, problem: toMutationError(e).text });
      },
    );
    return () => {
      current = false;
    };
  }, [connectionId]);
  return state.of === connectionId ? state : { pools: null, problem: null };
}

type Props = { draft: Draft; update: (change: Partial<Draft>) => void; choices: RestoreChoices; errors: FieldError[] };

function ConnectionHost({ draft, update, choices, errors, fields }: Props & { fields: string[] }) {
  const hosts = choices.hosts.filter((h) => h.connectionId === draft.connectionId);
  return (
    <div className="grid grid-cols-2 gap-3">
      <label className="text-sm">
        Hypervisor connection
        <select
          value={draft.connectionId}
          onChange={(e) => update({ connectionId: e.target.value, hostId: '', pool: '' })}
          className={input}
          data-testid="restore-connection"
        >
          {choices.connections.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <FieldErrors errors={errors} fields={fields} />
      </label>
      <label className="text-sm">
        Host
        <select value={draft.hostId} onChange={(e) => update({ hostId: e.target.value })} className={input} data-testid="restore-host">
          <option value="">{hosts.length ? `first host (${hosts[0]!.name})` : 'the connection’s host'}</option>
          {hosts.map((h) => (
            <option key={h.id} value={h.id}>
              {h.name}
            </option>
          ))}
        </select>
        <FieldErrors errors={errors} fields={['hostId']} />
      </label>
    </div>
  );
}

function PoolFormat({ draft, update, errors, pools, needed }: Omit<Props, 'choices'> & { pools: Pools; needed: number }) {
  const usable = pools.pools?.filter((p) => p.active) ?? [];
  // A connection chosen: its first usable pool, unless one of its pools is chosen already.
  useEffect(() => {
    if (pools.pools && !usable.some((p) => p.name === draft.pool)) update({ pool: usable[0]?.name ?? '' });
  }, [pools.pools]);
  return (
    <div className="grid grid-cols-2 gap-3">
      <label className="text-sm">
        Storage pool
        <select value={draft.pool} onChange={(e) => update({ pool: e.target.value })} className={input} data-testid="restore-pool">
          {pools.pools?.map((p) => (
            <option key={p.name} value={p.name} disabled={!p.active}>
              {p.name} — {p.availableBytes === null ? 'free space unknown' : `${bytes(p.availableBytes)} free`}
              {p.capacityBytes === null ? '' : ` of ${bytes(p.capacityBytes)}`} ({p.type}
              {p.active ? '' : ', not active'})
            </option>
          ))}
        </select>
        {pools.problem && <p className="mt-1 text-xs text-red-700">{pools.problem}</p>}
        {pools.pools?.length === 0 && <p className="mt-1 text-xs text-amber-700">No storage pool on this connection: rescan it in Infrastructure.</p>}
        <p className="mt-1 text-xs text-slate-500">The disks are {bytes(needed)}; images are sparse, so only their data takes space.</p>
        <FieldErrors errors={errors} fields={['pool', 'to.pool']} />
      </label>
      <label className="text-sm">
        Disk format
        <select value={draft.format} onChange={(e) => update({ format: e.target.value as Draft['format'] })} className={input} data-testid="restore-format">
          {IMAGE_FORMATS.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
        <FieldErrors errors={errors} fields={['format', 'to.format']} />
      </label>
    </div>
  );
}

function NameField({ draft, update, errors, label }: Omit<Props, 'choices'> & { label: string }) {
  return (
    <label className="block text-sm">
      {label}
      <input value={draft.name} onChange={(e) => update({ name: e.target.value })} className={input} data-testid="restore-name" />
      <FieldErrors errors={errors} fields={['name']} />
    </label>
  );
}

function Networks({ draft, update }: Omit<Props, 'choices' | 'errors'>) {
  return (
    <label className="block text-sm">
      Network interfaces
      <select
        value={draft.networks}
        onChange={(e) => update({ networks: e.target.value as Draft['networks'] })}
        className={input}
        data-testid="restore-networks"
      >
        <option value="connected">connected, as in the backup</option>
        <option value="disconnected">disconnected (link down), to check the VM first</option>
      </select>
    </label>
  );
}

function PowerOn({ draft, update }: Omit<Props, 'choices' | 'errors'>) {
  return (
    <label className="block text-sm">
      <input type="checkbox" checked={draft.powerOn} onChange={(e) => update({ powerOn: e.target.checked })} data-testid="restore-power-on" /> Power on the VM
      after the restore
    </label>
  );
}

function Confirm({ draft, update, errors, field, children }: Omit<Props, 'choices'> & { field: string; children: string }) {
  return (
    <div className="rounded border border-amber-300 bg-amber-50 p-3 text-sm">
      <label>
        <input type="checkbox" checked={draft.confirm} onChange={(e) => update({ confirm: e.target.checked })} data-testid="restore-confirm" /> {children}
      </label>
      <FieldErrors errors={errors} fields={[field]} />
    </div>
  );
}

function Mode<M extends string>({
  value,
  current,
  onChange,
  label,
  disabled,
  testId,
}: {
  value: M;
  current: M;
  onChange: (m: M) => void;
  label: string;
  disabled?: boolean;
  testId: string;
}) {
  return (
    <label className={`mr-6 text-sm ${disabled ? 'text-slate-400' : ''}`}>
      <input type="radio" checked={current === value} disabled={disabled} onChange={() => onChange(value)} data-testid={testId} /> {label}
    </label>
  );
}

const diskBytes = (draft: Draft, only?: string[]) =>
  (draft.point?.disks ?? []).filter((d) => !only || only.includes(d.name)).reduce((n, d) => n + d.sizeBytes, 0);

/** Entire VM: over the original (confirmed, quick rollback) or as a new VM. */
export function VmTarget({ draft, update, choices, errors, pools }: Props & { pools: Pools }) {
  const original = draft.vm?.vmId ? choices.vms.find((v) => v.id === draft.vm!.vmId) : undefined;
  return (
    <div className="space-y-4">
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Restore to</legend>
        <Mode
          value="original"
          current={draft.vmMode}
          onChange={(vmMode) => update({ vmMode, confirm: false })}
          label="the original VM"
          disabled={!original}
          testId="restore-mode-original"
        />
        <Mode value="new" current={draft.vmMode} onChange={(vmMode) => update({ vmMode, confirm: false })} label="a new VM" testId="restore-mode-new" />
        {!original && <p className="mt-1 text-xs text-slate-500">The VM is no longer in the inventory: restore it as a new VM.</p>}
      </fieldset>
      {draft.vmMode === 'original' && original ? (
        <>
          <p className="text-sm text-slate-600">
            {original.name} is <b>{original.powerState}</b> at the last rescan
            {original.powerState === 'stopped' ? '.' : ': the restore powers it off first, as you confirm below.'}
          </p>
          {original.restoreFailure && <p className="rounded bg-red-50 p-2 text-sm text-red-700">{original.restoreFailure}</p>}
          <Confirm draft={draft} update={update} errors={errors} field="confirmOverwrite">
            The VM is powered off and its disks will be overwritten with the restore point.
          </Confirm>
          <label className="block text-sm">
            <input
              type="checkbox"
              checked={draft.quickRollback}
              onChange={(e) => update({ quickRollback: e.target.checked })}
              data-testid="restore-quick-rollback"
            />{' '}
            Quick rollback: write back only the blocks that changed since the point (when the VM still has the checkpoint of its latest backup)
          </label>
          <PowerOn draft={draft} update={update} />
        </>
      ) : (
        <>
          <NameField draft={draft} update={update} errors={errors} label="Name of the new VM" />
          <ConnectionHost draft={draft} update={update} choices={choices} errors={errors} fields={['connectionId']} />
          <PoolFormat draft={draft} update={update} errors={errors} pools={pools} needed={diskBytes(draft)} />
          <Networks draft={draft} update={update} />
          <PowerOn draft={draft} update={update} />
        </>
      )}
      <FieldErrors errors={errors} fields={['quickRollback', 'powerOn', 'networks']} />
    </div>
  );
}

/** Virtual disks: the chosen ones as image files, attached to a VM, or over a powered-off VM's disks. */
export function DisksTarget({ draft, update, choices, errors, pools }: Props & { pools: Pools }) {
  const target = choices.vms.find((v) => v.id === draft.targetVmId);
  const toggle = (name: string) => update({ disks: draft.disks.includes(name) ? draft.disks.filter((d) => d !== name) : [...draft.disks, name] });
  const setMode = (diskMode: Draft['diskMode']) => update({ diskMode, confirm: false, pool: '' });
  const missing = target ? draft.disks.filter((d) => !target.disks.includes(d)) : [];
  return (
    <div className="space-y-4">
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Disks</legend>
        {draft.point?.disks.map((d) => (
          <label key={d.name} className="mr-6 text-sm">
            <input type="checkbox" checked={draft.disks.includes(d.name)} onChange={() => toggle(d.name)} data-testid={`restore-disk-${d.name}`} />{' '}
            <span className="font-mono">{d.name}</span> {bytes(d.sizeBytes)}
          </label>
        ))}
        <FieldErrors errors={errors} fields={['disks']} />
      </fieldset>
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Restore to</legend>
        <Mode value="pool" current={draft.diskMode} onChange={setMode} label="image files in a storage pool" testId="restore-mode-pool" />
        <Mode value="attach" current={draft.diskMode} onChange={setMode} label="new disks of a VM" testId="restore-mode-attach" />
        <Mode value="replace" current={draft.diskMode} onChange={setMode} label="over disks of a powered-off VM" testId="restore-mode-replace" />
      </fieldset>
      {draft.diskMode === 'pool' ? (
        <ConnectionHost draft={draft} update={update} choices={choices} errors={errors} fields={['to.connectionId']} />
      ) : (
        <label className="block text-sm">
          Virtual machine
          <select value={draft.targetVmId} onChange={(e) => update({ targetVmId: e.target.value, pool: '' })} className={input} data-testid="restore-target-vm">
            <option value="">choose a VM</option>
            {choices.vms.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} ({v.powerState}, {v.disks.join(', ') || 'no disk'})
              </option>
            ))}
          </select>
          <FieldErrors errors={errors} fields={['to.vmId']} />
        </label>
      )}
      {draft.diskMode !== 'replace' && (draft.diskMode === 'pool' || target) && (
        <PoolFormat draft={draft} update={update} errors={errors} pools={pools} needed={diskBytes(draft, draft.disks)} />
      )}
      {draft.diskMode === 'replace' && target && (
        <>
          {target.powerState !== 'stopped' && (
            <p className="text-sm text-amber-700">
              {target.name} is {target.powerState} at the last rescan: power it off first, or the restore refuses it.
            </p>
          )}
          {missing.length > 0 && (
            <p className="text-sm text-red-700">
              {target.name} has no disk {missing.join(', ')} to replace.
            </p>
          )}
          <Confirm draft={draft} update={update} errors={errors} field="to.confirmOverwrite">
            {`${target.name} is powered off and its disks ${draft.disks.join(', ')} will be overwritten with the restore point.`}
          </Confirm>
        </>
      )}
    </div>
  );
}

/** Instant recovery: the VM runs from the backup on the chosen host, networks disconnected unless asked. */
export function InstantTarget({ draft, update, choices, errors }: Props) {
  const originalHere = draft.vm?.inInventory && draft.vm.connection?.id === draft.connectionId && draft.name.trim() === draft.vm.name;
  return (
    <div className="space-y-4">
      <NameField draft={draft} update={update} errors={errors} label="Name of the recovered VM" />
      {originalHere && (
        <p className="text-xs text-amber-700">The original VM still exists on this connection: give the recovered VM another name, or recover it elsewhere.</p>
      )}
      <ConnectionHost draft={draft} update={update} choices={choices} errors={errors} fields={['connectionId']} />
      <Networks draft={draft} update={update} />
    </div>
  );
}
