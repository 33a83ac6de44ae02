import type { Metadata } from 'next';
import Link from 'next/link';
import { can } from '@strongbox/core';
import { Inventory, prisma } from '@strongbox/db';
import { ActionButton } from '@/components/action-button';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toVmDto } from '@/server/dto';

export const metadata: Metadata = { title: 'Inventory' };

const GiB = 1024 ** 3;
const size = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);

export default async function InventoryPage() {
  const user = await currentUser();
  const canRun = Boolean(user && can(user.role, 'jobs.run'));
  const inventory = new Inventory(prisma());
  const [connections, vms] = await Promise.all([inventory.listConnections(), inventory.vms()]);
  const names = new Map(connections.map((c) => [c.id, c.name]));
  if (connections.length === 0) {
    return (
      <>
        <PageHeader title="Inventory" />
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center text-slate-500">
          No hypervisor yet: add a connection in{' '}
          <Link href="/infrastructure" className="text-sky-700 underline">
            Infrastructure
          </Link>
          .
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Inventory" />
      <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">VM</th>
            <th className="p-3">Host</th>
            <th className="p-3">Connection</th>
            <th className="p-3">State</th>
            <th className="p-3">Disks</th>
            <th className="p-3" />
          </tr>
        </thead>
        <tbody>
          {vms.map(toVmDto).map((vm) => (
            <tr key={vm.id} className="border-t border-slate-200" data-testid={`vm-${vm.name}`}>
              <td className="p-3 font-medium">{vm.name}</td>
              <td className="p-3">{vm.host?.name ?? '—'}</td>
              <td className="p-3">{names.get(vm.connectionId)}</td>
              <td className="p-3">
                <span
                  className={`rounded px-2 py-0.5 text-xs ${vm.powerState === 'running' ? 'bg-emerald-100 text-emerald-800' : 'bg-slate-200 text-slate-700'}`}
                >
                  {vm.powerState}
                </span>
              </td>
              <td className="p-3 text-slate-600">
                {vm.disks.map((d) => `${d.name} ${size(d.sizeBytes)} ${d.format ?? ''}`).join(', ')}
                {vm.problem && (
                  <p className="text-xs text-amber-700" data-testid="vm-problem">
                    not read at the last rescan: {vm.problem}
                  </p>
                )}
                {vm.restoreFailure && (
                  <p className="mt-1 rounded bg-red-50 p-1 text-xs font-medium text-red-700" data-testid="vm-restore-failure">
                    {vm.restoreFailure}
                  </p>
                )}
              </td>
              <td className="p-3 text-right">
                {canRun && !vm.removed && <ActionButton path={`/vms/${vm.id}/quick-backup`} label="Quick backup" done="queued" openSession />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
