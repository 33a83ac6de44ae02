'use client';

import { useEffect, useState, type ReactNode } from 'react';
import { RESTORE_KIND_NAMES } from '@strongbox/core';
import { api, type FieldError } from '@/components/api-client';
import { bytes } from '@/components/format';
import { toMutationError } from '@/components/use-mutation';
import type { CatalogPointDto, CatalogVmDto } from '@/server/restore-schemas';
import type { RestoreChoices } from './restore-data';
import { requestOf, type Draft, type What } from './restore-draft';

/** The API's message for `fields`, shown under the control it is about. */
export function FieldErrors({ errors, fields }: { errors: FieldError[]; fields: string[] }) {
  const mine = errors.filter((e) => fields.includes(e.field));
  if (mine.length === 0) return null;
  return (
    <p role="alert" className="mt-1 text-xs text-red-700" data-testid={`error-${fields[0]}`}>
      {mine.map((e) => e.message).join('; ')}
    </p>
  );
}

type List<T> = { data: T[] };
const pointsPath = (vm: CatalogVmDto) => `/restore-catalog/points?${vm.vmId ? `vmId=${vm.vmId}` : `vmName=${encodeURIComponent(vm.name)}`}`;

/** A VM and one of its points, as step 1 has them chosen (also Guest files' picker, which has no more of a draft). */
export type PointChoice = Pick<Draft, 'vm' | 'points' | 'point'>;

/** Step 1: a VM found by name (also one no longer in the inventory), then one of its restore points. */
export function PointStep({
  draft,
  onVm,
  onPoint,
  errors,
}: {
  draft: PointChoice;
  onVm: (vm: CatalogVmDto, points: CatalogPointDto[]) => void;
  onPoint: (point: CatalogPointDto) => void;
  errors: FieldError[];
}) {
  const [query, setQuery] = useState('');
  const [vms, setVms] = useState<CatalogVmDto[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      api<List<CatalogVmDto>>('GET', `/restore-catalog?q=${encodeURIComponent(query)}`).then(
        (r) => {
          if (!current) return; // a later search answers instead
          setVms(r.data);
          setProblem(null);
        },
        (e: unknown) => {
          if (current) setProblem(toMutationError(e).text);
        },
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query]);

  async function choose(vm: CatalogVmDto) {
    try {
      onVm(vm, (await api<List<CatalogPointDto>>('GET', pointsPath(vm))).data);
      setProblem(null);
    } catch (e) {
      setProblem(toMutationError(e).text);
    }
  }

  const isChosen = (vm: CatalogVmDto) => draft.vm !== null && draft.vm.vmId === vm.vmId && draft.vm.name === vm.name;
  return (
    <div className="space-y-4">
      <label className="block text-sm">
        Virtual machine
        <input
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Search by name"
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
          data-testid="restore-search"
          aria-label="Search VMs by name"
        />
      </label>
      {problem && <p className="text-sm text-red-700">{problem}</p>}
      <div className="max-h-64 overflow-auto rounded border border-slate-200">
        {vms?.map((vm) => (
          <button
            key={`${vm.vmId ?? ''}/${vm.name}`}
            type="button"
            onClick={() => void choose(vm)}
            aria-pressed={isChosen(vm)}
            data-testid={`restore-vm-${vm.name}`}
            className={`flex w-full items-center gap-3 border-b border-slate-100 px-3 py-2 text-left text-sm ${isChosen(vm) ? 'bg-sky-50' : 'hover:bg-slate-50'}`}
          >
            <span className="font-medium">{vm.name}</span>
            {!vm.inInventory && <span className="rounded bg-amber-100 px-2 py-0.5 text-xs text-amber-800">not in the inventory</span>}
            <span className="text-slate-500">{vm.connection?.name ?? ''}</span>
            <span className="ml-auto text-slate-500">
              {vm.points} point{vm.points === 1 ? '' : 's'}, newest {new Date(vm.newestAt).toLocaleString()}
            </span>
          </button>
        ))}
        {vms?.length === 0 && (
          <p className="p-3 text-sm text-slate-500">{query ? `No VM named like “${query}” has a restore point.` : 'No restore point yet.'}</p>
        )}
        {vms === null && !problem && <p className="p-3 text-sm text-slate-500">Loading…</p>}
      </div>
      {draft.vm && (
        <fieldset>
          <legend className="mb-1 text-sm font-medium">Restore points of {draft.vm.name}, newest first</legend>
          <table className="w-full rounded border border-slate-200 text-sm">
            <thead className="bg-slate-100 text-left text-slate-600">
              <tr>
                <th className="w-8 p-2" />
                <th className="p-2">Time</th>
                <th className="p-2">Kind</th>
                <th className="p-2">Size</th>
                <th className="p-2">Disks</th>
                <th className="p-2">Repository</th>
              </tr>
            </thead>
            <tbody>
              {draft.points.map((p) => (
                <tr key={p.id} className={`border-t border-slate-200 ${draft.point?.id === p.id ? 'bg-sky-50' : ''}`}>
                  <td className="p-2">
                    <input
                      type="radio"
                      name="restore-point"
                      checked={draft.point?.id === p.id}
                      onChange={() => onPoint(p)}
                      data-testid={`restore-point-${p.id}`}
                      aria-label={`Restore point of ${new Date(p.time).toLocaleString()}`}
                    />
                  </td>
                  <td className="p-2">{new Date(p.time).toLocaleString()}</td>
                  <td className="p-2">{p.kind === 'full' ? 'full' : 'incremental'}</td>
                  <td className="p-2">
                    {bytes(p.sizeBytes)} <span className="text-slate-500">({bytes(p.storedBytes)} stored)</span>
                  </td>
                  <td className="p-2">{p.disks.map((d) => `${d.name} ${bytes(d.sizeBytes)}`).join(', ')}</td>
                  <td className="p-2">{p.repository.name}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
      )}
      <FieldErrors errors={errors} fields={['pointId']} />
    </div>
  );
}

function Choice({ what, draft, onWhat, title, children }: { what: What; draft: Draft; onWhat: (w: What) => void; title: string; children: ReactNode }) {
  return (
    <label className={`flex cursor-pointer gap-3 rounded border p-3 text-sm ${draft.what === what ? 'border-sky-600 bg-sky-50' : 'border-slate-200'}`}>
      <input type="radio" name="restore-what" checked={draft.what === what} onChange={() => onWhat(what)} data-testid={`restore-what-${what}`} />
      <span>
        <span className="block font-medium">{title}</span>
        <span className="text-slate-600">{children}</span>
      </span>
    </label>
  );
}

/** Step 2: what to restore from the point. */
export function WhatStep({ draft, onWhat, errors }: { draft: Draft; onWhat: (w: What) => void; errors: FieldError[] }) {
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-600">
        From the {draft.point?.kind} point of {draft.point ? new Date(draft.point.time).toLocaleString() : '?'} of <b>{draft.vm?.name}</b>:
      </p>
      <Choice what="vm" draft={draft} onWhat={onWhat} title="Entire VM">
        Every disk and the configuration: over the original VM, or as a new VM.
      </Choice>
      <Choice what="disks" draft={draft} onWhat={onWhat} title="Virtual disks">
        Chosen disks: as image files in a storage pool, attached to a VM, or over disks of a powered-off VM.
      </Choice>
      <Choice what="instant" draft={draft} onWhat={onWhat} title="Instant recovery">
        Run the VM from the backup now, its changes in an overlay; migrate it to production later.
      </Choice>
      <label className="flex gap-3 rounded border border-dashed border-slate-200 p-3 text-sm text-slate-400">
        <input type="radio" name="restore-what" disabled data-testid="restore-what-files" />
        <span>
          <span className="block font-medium">Guest files</span>
          Browse the guest&apos;s file systems and restore files: a later release.
        </span>
      </label>
      <FieldErrors errors={errors} fields={['kind']} />
    </div>
  );
}

/** The last step: the request in words, as it will be sent. */
export function SummaryStep({ draft, choices, poolFree }: { draft: Draft; choices: RestoreChoices; poolFree: number | null }) {
  const request = requestOf(draft);
  if (!request) return null;
  const name = (list: { id: string; name: string }[], id: string) => list.find((x) => x.id === id)?.name ?? id;
  const rows: [string, ReactNode][] = [
    ['Restore', RESTORE_KIND_NAMES[request.kind]],
    ['VM', `${draft.vm?.name}${draft.vm?.inInventory ? '' : ' (not in the inventory)'}`],
    ['Restore point', `${draft.point ? new Date(draft.point.time).toLocaleString() : ''}, ${draft.point?.kind}, ${draft.point?.repository.name}`],
  ];
  const pool = (p: string, format: string) => `${p}${poolFree !== null ? ` (${bytes(poolFree)} free)` : ''}, ${format}`;
  switch (request.kind) {
    case 'vm-original':
      rows.push(['Target', `the original VM ${draft.vm?.name}: its disks are overwritten`]);
      rows.push([
        'Quick rollback',
        request.quickRollback ? 'yes: only blocks that changed since the point are written, when it can be' : 'no: every block is written',
      ]);
      rows.push(['Power on after', request.powerOn ? 'yes' : 'no']);
      break;
    case 'vm-new':
      rows.push(['Target', `new VM ${request.name} on ${name(choices.connections, request.connectionId)}`]);
      rows.push(['Host', request.hostId ? name(choices.hosts, request.hostId) : "the connection's first host"]);
      rows.push(['Storage pool', pool(request.pool, request.format ?? 'qcow2')]);
      rows.push(['Networks', request.networks ?? 'connected']);
      rows.push(['Power on after', request.powerOn ? 'yes' : 'no']);
      break;
    case 'disks': {
      rows.push(['Disks', request.disks.join(', ')]);
      const to = request.to;
      if (to.mode === 'pool')
        rows.push(['Target', `image files in pool ${pool(to.pool, to.format ?? 'qcow2')} of ${name(choices.connections, to.connectionId)}`]);
      else if (to.mode === 'attach') rows.push(['Target', `new disks of VM ${name(choices.vms, to.vmId)}, in pool ${pool(to.pool, to.format ?? 'qcow2')}`]);
      else rows.push(['Target', `over the disks of the same name of VM ${name(choices.vms, to.vmId)}: they are overwritten`]);
      break;
    }
    case 'instant':
      rows.push(['Target', `VM ${request.name ?? draft.vm?.name} on ${name(choices.connections, request.connectionId)}, run from the backup`]);
      rows.push(['Host', request.hostId ? name(choices.hosts, request.hostId) : "the connection's first host"]);
      rows.push(['Networks', request.networks ?? 'disconnected']);
      break;
  }
  return (
    <dl className="grid grid-cols-[10rem_1fr] gap-y-2 text-sm" data-testid="restore-summary">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-500">{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
