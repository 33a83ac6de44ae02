import { BackupRepositories, Inventory, BackupJobs, prisma } from '@strongbox/db';
import { toVmDto } from '@/server/dto';

/** What the wizard offers to choose from, loaded on the server. */
export async function wizardChoices() {
  const db = prisma();
  const inventory = new Inventory(db);
  const [connections, vms, repositories, jobs] = await Promise.all([
    inventory.listConnections(),
    inventory.vms(),
    new BackupRepositories(db).list(),
    new BackupJobs(db).page(1, 500),
  ]);
  const hosts = await db.host.findMany({ select: { id: true, name: true, connectionId: true }, orderBy: { name: 'asc' } });
  return {
    connections: connections.map((c) => ({ id: c.id, name: c.name })),
    hosts,
    vms: vms.map(toVmDto),
    repositories: repositories.map((r) => ({ id: r.id, name: r.name, isDefault: r.isDefault })),
    jobs: jobs.rows.map((j) => ({ id: j.id, name: j.name })),
  };
}

export type WizardChoices = Awaited<ReturnType<typeof wizardChoices>>;
