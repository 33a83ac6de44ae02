import { notifySwitch } from '@strongbox/core';
import { jobSelect, Runs, Settings, specOf, type PrismaClient } from '@strongbox/db';
import { sendMail, SMTP_SETTING_KEY, smtpSettingsSchema } from '@strongbox/notifications';

const STATUS_WORD: Record<string, string> = { success: 'Success', warning: 'Warning', failed: 'Failed', cancelled: 'Stopped', interrupted: 'Interrupted' };

const mib = (n: bigint | number) => `${(Number(n) / 2 ** 20).toFixed(1)} MiB`;

/**
 * The job's email: its result in the subject, the summary and each VM's result in the body;
 * sent to the global recipients and the job's own, when the job sends on that result.
 */
export async function notifySession(db: PrismaClient, sessionId: string, publicUrl: string): Promise<{ sent: boolean; reason?: string }> {
  const session = await db.session.findUnique({
    where: { id: sessionId },
    select: {
      name: true,
      kind: true,
      triggeredBy: true,
      status: true,
      startedAt: true,
      endedAt: true,
      notifiedAt: true,
      job: { select: jobSelect },
      tasks: {
        select: {
          diskName: true,
          status: true,
          bytesRead: true,
          bytesTransferred: true,
          bytesWritten: true,
          error: true,
          readMode: true,
          vm: { select: { name: true } },
        },
      },
    },
  });
  if (!session) return { sent: false, reason: 'no such session' };
  if (session.notifiedAt) return { sent: false, reason: 'already sent' };
  const smtp = (await new Settings(db).get(SMTP_SETTING_KEY, smtpSettingsSchema))?.value;
  if (!smtp?.enabled) return { sent: false, reason: 'notifications are off' };
  const notify = session.job ? specOf(session.job).options.notify : null;
  if (notify && !notify[notifySwitch(session.status)]) return { sent: false, reason: `the job does not send on ${session.status}` };
  // A restore's email goes to who asked for it (a user signs in with an email; a token has none) and the global recipients.
  const requester = session.kind === 'restore' && /^[^@\s:]+@[^@\s]+$/.test(session.triggeredBy) ? [session.triggeredBy] : [];
  const to = [...new Set([...requester, ...smtp.to, ...(notify?.to ?? [])])];
  if (to.length === 0) return { sent: false, reason: 'no recipients' };
  const word = STATUS_WORD[session.status] ?? session.status;
  const seconds = session.endedAt ? Math.round((session.endedAt.getTime() - session.startedAt.getTime()) / 1000) : 0;
  const lines = session.tasks.map((t) =>
    session.kind === 'restore'
      ? `  ${t.diskName}: ${t.status} — read ${mib(t.bytesRead)} from the repository, wrote ${mib(t.bytesWritten)}${t.error ? ` — ${t.error}` : ''}`
      : `  ${t.vm?.name ?? '?'} ${t.diskName}: ${t.status} — read ${mib(t.bytesRead)} (${t.readMode === 'changed' ? 'changed blocks' : 'whole disk'}), transferred ${mib(t.bytesTransferred)}${t.error ? ` — ${t.error}` : ''}`,
  );
  const text = [
    `${session.name}: ${word}`,
    `Started ${session.startedAt.toISOString()}, took ${seconds} s.`,
    '',
    ...lines,
    '',
    `${publicUrl}/sessions/${sessionId}`,
  ].join('\n');
  await sendMail(smtp, { to, subject: `[Strongbox] ${word}: ${session.name}`, text });
  await new Runs(db).markNotified(sessionId);
  return { sent: true };
}
