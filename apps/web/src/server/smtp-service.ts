import { AppError, prisma, Settings } from '@strongbox/db';
import { MailError, sendMail, SMTP_SETTING_KEY, smtpSettingsSchema, type SmtpSettings } from '@strongbox/notifications';

/** What the API shows: never the password, only whether one is set. */
export function smtpView(stored: { value: SmtpSettings; version: number } | null) {
  if (!stored) return { configured: false, version: 0, settings: null };
  const { password, ...rest } = stored.value;
  return { configured: true, version: stored.version, settings: { ...rest, hasPassword: Boolean(password) } };
}

export async function loadSmtp() {
  return new Settings(prisma()).get(SMTP_SETTING_KEY, smtpSettingsSchema);
}

/**
 * Saves new settings; a password left out keeps the stored one (the console never sees it),
 * an empty string removes it.
 */
export async function saveSmtp(input: SmtpSettings & { version: number }) {
  const { version, ...next } = input;
  const current = await loadSmtp();
  const password = next.password === undefined ? current?.value.password : next.password || undefined;
  const value = smtpSettingsSchema.parse({ ...next, ...(password ? { password } : { password: undefined }) });
  const settings = new Settings(prisma());
  const saved = await settings.save(SMTP_SETTING_KEY, JSON.parse(JSON.stringify(value)), version);
  return { value, version: saved };
}

export async function sendTestMail(to: string) {
  const stored = await loadSmtp();
  if (!stored) throw new AppError('BAD_REQUEST', 'save the SMTP settings first', { field: 'smtp' });
  try {
    return await sendMail(stored.value, {
      to: [to],
      subject: 'Strongbox test email',
      text: 'This is a test email from Strongbox. Job notifications will arrive like this one.',
    });
  } catch (error) {
    if (error instanceof MailError) throw new AppError('BAD_REQUEST', error.message, { field: 'smtp' });
    throw error;
  }
}
