import { z } from 'zod';

/** SMTP settings as stored (Setting key `smtp`) and edited in the console. */
export const smtpSettingsSchema = z
  .object({
    enabled: z.boolean(),
    host: z.string().trim().min(1, 'the SMTP server is needed').max(253),
    port: z.number().int().min(1).max(65535),
    /** `tls`: TLS from the start (465); `starttls`: upgrade (587/25); `none`: plain (lab only). */
    security: z.enum(['tls', 'starttls', 'none']),
    username: z.string().max(254).optional(),
    password: z.string().max(1024).optional(),
    from: z.email('the sender must be an email address'),
    /** Recipients of job notifications unless a job names its own. */
    to: z.array(z.email()).max(50),
  })
  .strict();

export type SmtpSettings = z.infer<typeof smtpSettingsSchema>;

export const SMTP_SETTING_KEY = 'smtp';
