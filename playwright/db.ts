import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Inventory rows for API tests, written straight to the console's database (the test
 * launcher passes its DATABASE_URL): a connection with a host and VMs, as a rescan makes.
 */
export async function seedInventory(tag: string, vmNames: string[], options: { disks?: boolean } = {}) {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const connectionId = randomUUID();
    const hostId = randomUUID();
    // Read "just now", so that the controller's periodic rescan leaves these rows alone
    // (a rescan of qemu:///system would replace them with the lab's real VMs).
    await client.query(
      `INSERT INTO "HypervisorConnection" (id, name, kind, uri, "lastRescanAt", "updatedAt") VALUES ($1, $2, 'libvirt', 'qemu:///system', now(), now())`,
      [connectionId, `conn-${tag}-${connectionId.slice(0, 8)}`],
    );
    await client.query(`INSERT INTO "Host" (id, "connectionId", name) VALUES ($1, $2, $3)`, [hostId, connectionId, `host-${tag}`]);
    const vmIds: string[] = [];
    for (const name of vmNames) {
      const id = randomUUID();
      await client.query(`INSERT INTO "Vm" (id, "connectionId", "hostId", "externalId", name, "powerState") VALUES ($1, $2, $3, $4, $5, 'running')`, [
        id,
        connectionId,
        hostId,
        randomUUID(),
        name,
      ]);
      // A disk makes a start plan a task; the VM is not on the hypervisor, so its backup fails and waits for a retry.
      if (options.disks) await client.query(`INSERT INTO "VmDisk" (id, "vmId", name, "sizeBytes") VALUES ($1, $2, 'vda', 1048576)`, [randomUUID(), id]);
      vmIds.push(id);
    }
    const repo = await client.query<{ id: string }>(`SELECT id FROM "BackupRepository" WHERE "isDefault"`);
    return { connectionId, hostId, vmIds, repositoryId: repo.rows[0]!.id };
  } finally {
    await client.end();
  }
}

export async function countJobs(): Promise<number> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*) FROM "BackupJob"')).rows[0].count);
  } finally {
    await client.end();
  }
}

/** One statement against the console's database, for tests that read or seed what the API does not show. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
