'use client';

import { useState, type FormEvent } from 'react';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { smtpView } from '@/server/smtp-service';

type View = ReturnType<typeof smtpView>;

export function EmailForm({ initial, defaultTo }: { initial: View; defaultTo: string }) {
  const [view, setView] = useState(initial);
  const [done, setDone] = useState<string | null>(null);
  const { run, error } = useMutation();
  const s = view.settings;
  const message = error
    ? { ok: false, text: error.conflict ? `${error.text} — reload the page to see the current settings.` : error.text }
    : done
      ? { ok: true, text: done }
      : null;

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const password = String(f.get('password') ?? '');
    setDone(null);
    const saved = await run(() =>
      api<View>('PUT', '/settings/smtp', {
        version: view.version,
        enabled: f.get('enabled') === 'on',
        host: String(f.get('host')),
        port: Number(f.get('port')),
        security: String(f.get('security')),
        username: String(f.get('username') ?? '') || undefined,
        ...(password ? { password } : {}),
        from: String(f.get('from')),
        to: String(f.get('to') ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      }),
    );
    if (!saved.ok) return;
    setView(saved.value);
    setDone('Saved.');
  }

  async function test(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const to = String(new FormData(event.currentTarget).get('testTo'));
    setDone(null);
    if ((await run(() => api('POST', '/settings/smtp/test', { to }))).ok) setDone(`Test email sent to ${to}.`);
  }

  const input = 'mt-1 w-full rounded border border-slate-300 px-2 py-1';
  return (
    <div className="max-w-2xl space-y-6">
      {message && (
        <p role="status" className={`rounded px-3 py-2 text-sm ${message.ok ? 'bg-emerald-50 text-emerald-800' : 'bg-red-50 text-red-700'}`}>
          {message.text}
        </p>
      )}
      <form onSubmit={save} aria-label="SMTP settings" className="grid grid-cols-2 gap-3 rounded-lg border border-slate-200 bg-white p-4">
        <label className="col-span-2 flex items-center gap-2 text-sm">
          <input type="checkbox" name="enabled" defaultChecked={s?.enabled ?? true} /> Send job notifications
        </label>
        <label className="text-sm">
          SMTP server
          <input name="host" required defaultValue={s?.host ?? ''} className={input} />
        </label>
        <label className="text-sm">
          Port
          <input name="port" type="number" required defaultValue={s?.port ?? 587} className={input} />
        </label>
        <label className="text-sm">
          Security
          <select name="security" defaultValue={s?.security ?? 'starttls'} className={input}>
            <option value="starttls">STARTTLS</option>
            <option value="tls">TLS</option>
            <option value="none">None</option>
          </select>
        </label>
        <label className="text-sm">
          Sender address
          <input name="from" type="email" required defaultValue={s?.from ?? ''} className={input} />
        </label>
        <label className="text-sm">
          User name
          <input name="username" defaultValue={s?.username ?? ''} className={input} autoComplete="off" />
        </label>
        <label className="text-sm">
          Password{s?.hasPassword ? ' (set; leave empty to keep)' : ''}
          <input name="password" type="password" className={input} autoComplete="new-password" />
        </label>
        <label className="col-span-2 text-sm">
          Recipients (comma-separated)
          <input name="to" defaultValue={s?.to.join(', ') ?? ''} className={input} />
        </label>
        <div className="col-span-2">
          <button type="submit" className="rounded bg-sky-700 px-4 py-2 text-white">
            Save settings
          </button>
        </div>
      </form>
      <form onSubmit={test} aria-label="Test email" className="flex items-end gap-2 rounded-lg border border-slate-200 bg-white p-4">
        <label className="flex-1 text-sm">
          Send a test email to
          <input name="testTo" type="email" required defaultValue={defaultTo} className={input} />
        </label>
        <button type="submit" className="rounded bg-slate-700 px-4 py-2 text-white" disabled={!view.configured}>
          Send test email
        </button>
      </form>
    </div>
  );
}
