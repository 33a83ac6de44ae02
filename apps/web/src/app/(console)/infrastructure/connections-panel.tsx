'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { ConnectionDto } from '@/server/dto';

export function ConnectionsPanel({ initial, editable }: { initial: ConnectionDto[]; editable: boolean }) {
  const [connections, setConnections] = useState(initial);
  const { run: mutate, error } = useMutation();
  const [adding, setAdding] = useState(false);

  async function reload() {
    setConnections((await api<{ data: ConnectionDto[] }>('GET', '/connections')).data);
  }

  // A rescan runs in the controller: follow it until every connection has been read.
  const pending = connections.some((c) => !c.lastRescanAt && !c.lastError);
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void reload().catch(() => undefined), 2000); // next poll retries
    return () => clearInterval(timer);
  }, [pending]);

  const run = (action: () => Promise<unknown>) =>
    mutate(async () => {
      await action();
      await reload();
    });

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const f = new FormData(form);
    const sshKeyPath = String(f.get('sshKeyPath') ?? '').trim();
    await run(async () => {
      await api('POST', '/connections', { name: String(f.get('name')), uri: String(f.get('uri')), ...(sshKeyPath ? { sshKeyPath } : {}) });
      form.reset();
      setAdding(false);
    });
  }

  const input = 'mt-1 w-full rounded border border-slate-300 px-2 py-1';
  return (
    <div className="space-y-3">
      {error && (
        <p role="alert" className="rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error.text}
        </p>
      )}
      {connections.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-500">
          No hypervisor connection yet. Add the local libvirt (qemu:///system) or a remote host over SSH.
        </p>
      ) : (
        <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
          <thead className="bg-slate-100 text-left text-slate-600">
            <tr>
              <th className="p-3">Name</th>
              <th className="p-3">URI</th>
              <th className="p-3">VMs</th>
              <th className="p-3">Last rescan</th>
              <th className="p-3" />
            </tr>
          </thead>
          <tbody>
            {connections.map((c) => (
              <tr key={c.id} className="border-t border-slate-200" data-testid={`connection-${c.name}`}>
                <td className="p-3">{c.name}</td>
                <td className="p-3">
                  <code>{c.uri}</code>
                </td>
                <td className="p-3">{c.vms}</td>
                <td className="p-3">
                  {c.lastError ? (
                    <span className="text-red-700">failed: {c.lastError}</span>
                  ) : c.lastRescanAt ? (
                    new Date(c.lastRescanAt).toLocaleString()
                  ) : (
                    <span className="text-slate-500">reading…</span>
                  )}
                </td>
                <td className="space-x-2 p-3 text-right">
                  {editable && (
                    <>
                      <button type="button" className="text-sky-700 underline" onClick={() => run(() => api('POST', `/connections/${c.id}/rescan`))}>
                        Rescan
                      </button>
                      <button
                        type="button"
                        className="text-red-700 underline"
                        onClick={() => confirm(`Remove ${c.name}?`) && run(() => api('DELETE', `/connections/${c.id}`))}
                      >
                        Remove
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable &&
        (adding ? (
          <form onSubmit={add} aria-label="Add connection" className="grid max-w-2xl grid-cols-2 gap-3 rounded-lg border border-slate-200 bg-white p-4">
            <label className="text-sm">
              Name
              <input name="name" required defaultValue="Local KVM" className={input} />
            </label>
            <label className="text-sm">
              libvirt URI
              <input name="uri" required defaultValue="qemu:///system" className={input} />
            </label>
            <label className="col-span-2 text-sm">
              SSH private key on the movers (for qemu+ssh://)
              <input name="sshKeyPath" placeholder="/etc/strongbox/id_ed25519" className={input} />
            </label>
            <div className="col-span-2 flex gap-2">
              <button type="submit" className="rounded bg-sky-700 px-4 py-2 text-white">
                Save connection
              </button>
              <button type="button" onClick={() => setAdding(false)} className="rounded px-4 py-2">
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <button type="button" onClick={() => setAdding(true)} className="rounded bg-sky-700 px-4 py-2 text-white">
            Add connection
          </button>
        ))}
    </div>
  );
}
