import type { Metadata } from 'next';
import { can } from '@strongbox/core';
import { BackupRepositories, Inventory, Movers, prisma } from '@strongbox/db';
import { PageHeader } from '@/components/area-page';
import { currentUser } from '@/server/auth';
import { toConnectionDto, toMoverDto, toRepositoryDto } from '@/server/dto';
import { ConnectionsPanel } from './connections-panel';
import { MoversTable } from './movers-table';
import { RepositoriesPanel } from './repositories-panel';

export const metadata: Metadata = { title: 'Infrastructure' };

export default async function InfrastructurePage() {
  const user = await currentUser();
  const db = prisma();
  const repos = new BackupRepositories(db);
  const [connections, movers, repositories, usage] = await Promise.all([
    new Inventory(db).listConnections(),
    new Movers(db).list(),
    repos.list(),
    repos.usage(),
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
        <RepositoriesPanel
          initial={repositories.map((r) => toRepositoryDto(r, usage.get(r.id)))}
          editable={editable}
          canDelete={Boolean(user && can(user.role, 'delete'))}
        />
      </section>
    </>
  );
}
