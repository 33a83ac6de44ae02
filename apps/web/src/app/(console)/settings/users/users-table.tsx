'use client';

import { useState, type FormEvent } from 'react';
import { ROLE_LABELS, ROLES, type Role } from '@strongbox/core';
import { api } from '@/components/api-client';
import { useMutation } from '@/components/use-mutation';
import type { UserDto } from '@/server/schemas';

export function UsersTable({ initial, currentUserId }: { initial: UserDto[]; currentUserId: string }) {
  const [users, setUsers] = useState(initial);
  const { run: mutate, error } = useMutation();
  const [adding, setAdding] = useState(false);

  async function reload() {
    const page = await api<{ data: UserDto[] }>('GET', '/users');
    setUsers(page.data);
  }

  const run = (action: () => Promise<unknown>) =>
    mutate(
      async () => {
        await action();
        await reload();
      },
      { onError: (failure) => failure.conflict && reload() },
    );

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    await run(async () => {
      await api('POST', '/users', {
        email: String(data.get('email')),
        name: String(data.get('name')),
        role: String(data.get('role')) as Role,
        password: String(data.get('password')),
      });
      form.reset();
      setAdding(false);
    });
  }

  return (
    <div className="space-y-4">
      {error && (
        <p role="alert" className="rounded bg-red-50 px-3 py-2 text-sm text-red-700">
          {error.conflict ? `${error.text} (the list was reloaded)` : error.text}
        </p>
      )}
      <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="p-3">Email</th>
            <th className="p-3">Name</th>
            <th className="p-3">Role</th>
            <th className="p-3">Status</th>
            <th className="p-3">Last login</th>
            <th className="p-3" />
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} className="border-t border-slate-200" data-testid={`user-row-${u.email}`}>
              <td className="p-3">{u.email}</td>
              <td className="p-3">{u.name}</td>
              <td className="p-3">
                <select
                  aria-label={`Role of ${u.email}`}
                  value={u.role}
                  disabled={u.id === currentUserId}
                  onChange={(e) => run(() => api('PATCH', `/users/${u.id}`, { version: u.version, role: e.target.value }))}
                  className="rounded border border-slate-300 px-2 py-1"
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {ROLE_LABELS[r]}
                    </option>
                  ))}
                </select>
              </td>
              <td className="p-3">{u.disabled ? 'Disabled' : 'Active'}</td>
              <td className="p-3 text-slate-500">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : 'never'}</td>
              <td className="space-x-2 p-3 text-right">
                {u.id !== currentUserId && (
                  <>
                    <button
                      type="button"
                      className="text-sky-700 underline"
                      onClick={() => run(() => api('PATCH', `/users/${u.id}`, { version: u.version, disabled: !u.disabled }))}
                    >
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                    <button
                      type="button"
                      className="text-red-700 underline"
                      onClick={() => confirm(`Delete ${u.email}?`) && run(() => api('DELETE', `/users/${u.id}`))}
                    >
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {adding ? (
        <form onSubmit={add} aria-label="Add user" className="grid max-w-xl grid-cols-2 gap-3 rounded-lg border border-slate-200 bg-white p-4">
          <label className="text-sm">
            Email
            <input name="email" type="email" required className="mt-1 w-full rounded border border-slate-300 px-2 py-1" />
          </label>
          <label className="text-sm">
            Name
            <input name="name" required className="mt-1 w-full rounded border border-slate-300 px-2 py-1" />
          </label>
          <label className="text-sm">
            Role
            <select name="role" defaultValue="Viewer" className="mt-1 w-full rounded border border-slate-300 px-2 py-1">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            Password (12+ characters)
            <input
              name="password"
              type="password"
              required
              minLength={12}
              autoComplete="new-password"
              className="mt-1 w-full rounded border border-slate-300 px-2 py-1"
            />
          </label>
          <div className="col-span-2 flex gap-2">
            <button type="submit" className="rounded bg-sky-700 px-4 py-2 text-white">
              Save user
            </button>
            <button type="button" onClick={() => setAdding(false)} className="rounded px-4 py-2">
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" onClick={() => setAdding(true)} className="rounded bg-sky-700 px-4 py-2 text-white">
          Add user
        </button>
      )}
    </div>
  );
}
