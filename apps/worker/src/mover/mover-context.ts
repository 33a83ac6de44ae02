import type { Logger } from 'pino';
import type { PrismaClient, Runs } from '@strongbox/db';
import type { HypervisorConnector } from '@strongbox/hypervisors';

/** What the units a mover runs share: its id, the run module, where libvirt job state lives. */
export type MoverContext = {
  db: PrismaClient;
  runs: Runs;
  moverId: string;
  log: Logger;
  /** Where libvirt job state lives; the janitor cleans what dead movers left in it. */
  workDir?: string | undefined;
  connect?: ((uri: string, workDir: string | undefined) => Promise<HypervisorConnector>) | undefined;
};
