import nodemailer from 'nodemailer';
import type { SmtpSettings } from './smtp-settings.js';
import { CodedError, messageOf } from '@strongbox/core';

export type Mail = { to: string[]; subject: string; text: string; html?: string };

export class MailError extends CodedError<'MAIL_FAILED'> {
  constructor(message: string) {
    super('MAIL_FAILED', message);
  }
}

/** Sends through the configured server; the server's refusal becomes a MailError with its words. */
export async function sendMail(settings: SmtpSettings, mail: Mail): Promise<{ messageId: string }> {
  if (mail.to.length === 0) throw new MailError('no recipient');
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    ignoreTLS: settings.security === 'none',
    requireTLS: settings.security === 'starttls',
    ...(settings.username ? { auth: { user: settings.username, pass: settings.password ?? '' } } : {}),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
  try {
    const info = await transport.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    return { messageId: info.messageId };
  } catch (error) {
    throw new MailError(`the SMTP server ${settings.host}:${settings.port} refused or failed: ${messageOf(error)}`);
  } finally {
    transport.close();
  }
}
