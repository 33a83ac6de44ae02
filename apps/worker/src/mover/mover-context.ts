import type { Logger } from 'pino';
import type { Failpoint } from '@strongbox/config';
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
  /** The fault suite's: where this process crashes itself (see STRONGBOX_FAILPOINT). */
  failpoint?: Failpoint | undefined;
};

/** A crash of this very process at `point`, when the fault suite asked for one there. */
export function crashAt(ctx: MoverContext, point: Failpoint): void {
  if (ctx.failpoint === point) process.kill(process.pid, 'SIGKILL');
}
