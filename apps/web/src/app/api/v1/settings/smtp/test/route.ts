import { apiRoute } from '@/server/api';
import { testMailBody } from '@/server/schemas';
import { sendTestMail } from '@/server/smtp-service';

export const POST = apiRoute({ permission: 'settings.edit', body: testMailBody }, async ({ body, audit }) => {
  const result = await sendTestMail(body.to);
  await audit('settings.smtp.test', 'setting', 'smtp', { to: body.to });
  return { sent: true, messageId: result.messageId };
});
