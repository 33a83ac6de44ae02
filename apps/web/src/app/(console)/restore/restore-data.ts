import { z } from 'zod';
import { Inventory, prisma, RestorePoints } from '@strongbox/db';
import { toCatalogPointDto, toCatalogVmDto } from '@/server/restores-service';
import type { CatalogPointDto, CatalogVmDto } from '@/server/restore-schemas';

/** What the restore wizard offers as targets, loaded on the server: connections, their hosts, the VMs of the inventory. */
export async function restoreChoices() {
  const db = prisma();
  const [connections, hosts, vms] = await Promise.all([
    new Inventory(db).listConnections(),
    db.host.findMany({ select: { id: true, name: true, connectionId: true }, orderBy: { name: 'asc' } }),
    db.vm.findMany({
      where: { removed: false },
      select: { id: true, name: true, connectionId: true, powerState: true, restoreFailure: true, disks: { select: { name: true }, orderBy: { name: 'asc' } } },
      orderBy: { name: 'asc' },
    }),
  ]);
  return {
    connections: connections.map((c) => ({ id: c.id, name: c.name })),
    hosts,
    vms: vms.map((v) => ({ ...v, disks: v.disks.map((d) => d.name) })),
  };
}
export type RestoreChoices = Awaited<ReturnType<typeof restoreChoices>>;

/** The wizard opened on a point (`/restore?point=<id>`, the Backups page's "Restore…"): that point, its VM and the VM's other points. */
export type ChosenPoint = { vm: CatalogVmDto; points: CatalogPointDto[]; point: CatalogPointDto };

export async function chosenPoint(id: string | undefined): Promise<ChosenPoint | null> {
  if (!id || !z.uuid().safeParse(id).success) return null;
  const catalog = new RestorePoints(prisma());
  const point = await catalog.get(id);
  if (!point) return null;
  const key = point.vmId ? { vmId: point.vmId } : { vmName: point.vmName };
  const [vm, points] = await Promise.all([catalog.vm(key), catalog.ofVm(key)]);
  if (!vm) return null;
  return { vm: toCatalogVmDto(vm), points: points.map(toCatalogPointDto), point: toCatalogPointDto(point) };
}
