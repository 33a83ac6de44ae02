import type { Metadata } from 'next';
import { can } from '@strongbox/core';
import { BackupRepositoryRepository, InventoryRepository, MoverRepository, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toConnectionDto, toMoverDto } from '@/server/dto';
import { ConnectionsPanel } from './connections-panel';
import { MoversTable } from './movers-table';

export const metadata: Metadata = { title: 'Infrastructure' };

export default async function InfrastructurePage() {
  const user = await currentUser();
  const db = prisma();
  const [connections, movers, repositories] = await Promise.all([
    new InventoryRepository(db).listConnections(),
    new MoverRepository(db).list(),
    new BackupRepositoryRepository(db).list(),
  ]);
  const editable = Boolean(user && can(user.role, 'infrastructure.edit'));
  return (
    <>
      <PageHeader title="Infrastructure" />
      <section className="mb-8">
        <h2 className="mb-2 text-lg font-semibold">Hypervisor connections</h2>
        <ConnectionsPanel initial={connections.map(toConnectionDto)} editable={editable} />
      </section>
      <section className="mb-8">
        <h2 className="mb-2 text-lg font-semibold">Movers</h2>
        <p className="mb-3 text-sm text-slate-500">
          Data movers register themselves when they start and send a heartbeat every 10 seconds; one without a heartbeat for a minute is offline.
        </p>
        <MoversTable initial={movers.map(toMoverDto)} editable={editable} />
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">Backup repositories</h2>
        <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
          <thead className="bg-slate-100 text-left text-slate-600">
            <tr><th className="p-3">Name</th><th className="p-3">Kind</th><th className="p-3">Path</th><th className="p-3">Max tasks</th></tr>
          </thead>
          <tbody>
            {repositories.map((r) => (
              <tr key={r.id} className="border-t border-slate-200">
                <td className="p-3">{r.name}{r.isDefault ? ' (default)' : ''}</td>
                <td className="p-3">{r.kind}</td>
                <td className="p-3"><code>{r.path}</code></td>
                <td className="p-3">{r.maxConcurrentTasks}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
