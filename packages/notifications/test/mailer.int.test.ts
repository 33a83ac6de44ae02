import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError, sendMail, type SmtpSettings } from '../src/index.js';
import { startSmtpSink } from './smtp-sink.js';

let sink: Awaited<ReturnType<typeof startSmtpSink>>;
beforeAll(async () => {
  sink = await startSmtpSink({ user: 'backup', pass: 's3cret' });
});
afterAll(() => sink.close());

const settings = (over: Partial<SmtpSettings> = {}): SmtpSettings => ({
  enabled: true,
  host: '127.0.0.1',
  port: sink.port,
  security: 'none',
  username: 'backup',
  password: 's3cret',
  from: 'strongbox@example.test',
  to: ['ops@example.test'],
  ...over,
});

describe('sendMail', () => {
  it('delivers to a real SMTP server with authentication', async () => {
    await sendMail(settings(), { to: ['ops@example.test'], subject: '[Success] Nightly', text: 'All 3 VMs processed.' });
    const mail = sink.received.at(-1)!;
    expect(mail.from).toBe('strongbox@example.test');
    expect(mail.to).toEqual(['ops@example.test']);
    expect(mail.user).toBe('backup');
    expect(mail.raw).toMatch(/^Subject: \[Success\] Nightly$/m);
    expect(mail.raw).toContain('All 3 VMs processed.');
  });

  it('reports a refused login with the server’s words', async () => {
    const count = sink.received.length;
    await expect(sendMail(settings({ password: 'wrong' }), { to: ['ops@example.test'], subject: 'x', text: 'x' })).rejects.toThrow(
      /Invalid username or password/,
    );
    expect(sink.received.length).toBe(count);
  });

  it('reports a server that does not answer', async () => {
    const closed = await startSmtpSink();
    await closed.close();
    await expect(sendMail(settings({ port: closed.port, username: undefined }), { to: ['a@example.test'], subject: 'x', text: 'x' })).rejects.toThrow(
      MailError,
    );
  });

  it('refuses a mail with no recipient', async () => {
    await expect(sendMail(settings(), { to: [], subject: 'x', text: 'x' })).rejects.toThrow('no recipient');
  });
});
