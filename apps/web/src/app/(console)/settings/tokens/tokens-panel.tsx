'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { TokenDto } from '@/server/schemas';

type Login = { id: string; current: boolean; createdAt: string; lastSeenAt: string; ip: string | null; userAgent: string | null };

export function TokensPanel() {
  const [tokens, setTokens] = useState<TokenDto[]>([]);
  const [logins, setLogins] = useState<Login[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const { run: mutate, error } = useMutation();

  async function reload() {
    const [t, l] = await Promise.all([api<{ data: TokenDto[] }>('GET', '/tokens'), api<{ data: Login[] }>('GET', '/logins')]);
    setTokens(t.data);
    setLogins(l.data);
  }

  useEffect(() => {
    void mutate(reload);
  }, [mutate]);

  const run = (action: () => Promise<unknown>) =>
    mutate(async () => {
      await action();
      await reload();
    });

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = String(new FormData(form).get('name'));
    await run(async () => {
      const result = await api<{ token: string }>('POST', '/tokens', { name });
      setCreated(result.token);
      form.reset();
    });
  }

  return (
    <div className="space-y-8">
      {error && (
        <p role="alert" className="rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error.text}
        </p>
      )}
      <section>
        <h2 className="mb-2 text-lg font-semibold">API tokens</h2>
        <p className="mb-3 text-sm text-slate-500">
          Use as <code>Authorization: Bearer &lt;token&gt;</code> on <code>/api/v1</code>. A token acts with your role.
        </p>
        {created && (
          <div className="mb-3 rounded border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-token">
            Copy this token now; it is not shown again: <code className="break-all">{created}</code>
          </div>
        )}
        <form onSubmit={create} className="mb-3 flex gap-2">
          <input name="name" required placeholder="Token name" aria-label="Token name" className="rounded border border-slate-300 px-2 py-1" />
          <button type="submit" className="rounded bg-sky-700 px-4 py-1 text-white">
            Create token
          </button>
        </form>
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          {tokens.length === 0 && <li className="p-3 text-slate-500">No tokens.</li>}
          {tokens.map((t) => (
            <li key={t.id} className="flex items-center justify-between p-3">
              <span>
                {t.name} <code className="text-slate-500">{t.prefix}…</code>
                {t.revokedAt && <span className="ml-2 text-red-700">revoked</span>}
              </span>
              {!t.revokedAt && (
                <button type="button" className="text-red-700 underline" onClick={() => run(() => api('DELETE', `/tokens/${t.id}`))}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2 className="mb-2 text-lg font-semibold">Your open logins</h2>
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          {logins.map((l) => (
            <li key={l.id} className="flex items-center justify-between p-3">
              <span>
                {l.ip ?? 'unknown address'} · {l.userAgent?.slice(0, 60) ?? 'unknown browser'} · last seen {new Date(l.lastSeenAt).toLocaleString()}{' '}
                {l.current && <strong>(this one)</strong>}
              </span>
              {!l.current && (
                <button type="button" className="text-red-700 underline" onClick={() => run(() => api('DELETE', `/logins/${l.id}`))}>
                  End
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
