import { apiRoute } from '@/server/api';
import { smtpBody } from '@/server/schemas';
import { loadSmtp, saveSmtp, smtpView } from '@/server/smtp-service';

export const GET = apiRoute({ permission: 'settings.edit' }, async () => smtpView(await loadSmtp()));

export const PUT = apiRoute({ permission: 'settings.edit', body: smtpBody }, async ({ body, audit }) => {
  const saved = await saveSmtp(body);
  await audit('settings.smtp.update', 'setting', 'smtp', { host: body.host, port: body.port, enabled: body.enabled });
  return smtpView(saved);
});
