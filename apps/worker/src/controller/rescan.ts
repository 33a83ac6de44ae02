import { messageOf } from '@strongbox/core';
import { Inventory, type PrismaClient, type ScannedVm } from '@strongbox/db';
import { connectionUri, HypervisorError, LibvirtConnector, type HypervisorConnector } from '@strongbox/hypervisors';

export type Connect = (uri: string) => Promise<HypervisorConnector>;

const connectLibvirt: Connect = (uri) => LibvirtConnector.connect({ uri });

/**
 * Reads a connection's hosts, VMs and disks from the hypervisor into the inventory. A
 * hypervisor that cannot be reached leaves the inventory as it was and records why. One
 * VM that cannot be read (a disk file gone, a volume pool down) does not hide the others:
 * it keeps what was last read of it and records its problem.
 */
export async function rescanConnection(db: PrismaClient, connectionId: string, connect: Connect = connectLibvirt) {
  const inventory = new Inventory(db);
  const connection = await db.hypervisorConnection.findUnique({ where: { id: connectionId } });
  if (!connection) return { vms: 0, removed: true as const };
  try {
    const hypervisor = await connect(connectionUri(connection.uri, connection.sshKeyPath));
    const hosts = await hypervisor.listHosts();
    const summaries = await hypervisor.listVms();
    const vms: ScannedVm[] = [];
    for (const summary of summaries) {
      let vm;
      try {
        vm = await hypervisor.getVm(summary.uuid);
      } catch (error) {
        // Undefined between the list and the read: it is gone, as if it had not been listed.
        if (error instanceof HypervisorError && error.code === 'HV_VM_NOT_FOUND') continue;
        vms.push({ externalId: summary.uuid, name: summary.name, powerState: summary.power, problem: messageOf(error) });
        continue;
      }
      vms.push({
        externalId: vm.uuid,
        name: vm.name,
        powerState: vm.power,
        configXml: vm.configXml,
        disks: vm.disks.map((d) => ({ name: d.target, path: d.path, format: d.format, sizeBytes: d.sizeBytes })),
      });
    }
    // Restores write into libvirt storage pools (volumes are made there): those with a folder.
    const pools = (await hypervisor.listPools()).filter((p): p is typeof p & { path: string } => p.path !== null);
    await inventory.applyRescan(
      connectionId,
      hosts.map((h) => ({ name: h.name, cpuCount: h.cpus, memoryBytes: h.memoryBytes })),
      vms,
      new Date(),
      pools.map((p) => ({ name: p.name, type: p.type, path: p.path, capacityBytes: p.capacityBytes, availableBytes: p.availableBytes, active: p.active })),
    );
    return { vms: vms.length, removed: false as const };
  } catch (error) {
    await inventory.recordRescanError(connectionId, messageOf(error));
    throw error;
  }
}
