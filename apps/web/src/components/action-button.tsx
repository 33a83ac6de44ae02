'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { api } from './api-client';
import { useMutation } from './use-mutation';

/**
 * A button that POSTs to the API and says what happened next to itself. With `openSession`
 * the answer names the session the action started (`{ sessionId }`), and the console goes there.
 */
export function ActionButton({ path, label, done, openSession = false }: { path: string; label: string; done: string; openSession?: boolean }) {
  const router = useRouter();
  const { run, busy, error } = useMutation();
  const [succeeded, setSucceeded] = useState(false);

  async function click() {
    setSucceeded(false);
    const result = await run(() => api<{ sessionId?: string } | undefined>('POST', path));
    if (!result.ok) return;
    setSucceeded(true);
    if (openSession && result.value?.sessionId) router.push(`/sessions/${result.value.sessionId}`);
  }

  const said = error ? { ok: false, text: error.text } : succeeded ? { ok: true, text: done } : null;
  return (
    <span className="space-x-2">
      <button type="button" className="text-sky-700 underline disabled:opacity-50" disabled={busy} onClick={() => void click()}>
        {label}
      </button>
      {said && (
        <span role="status" className={`text-xs ${said.ok ? 'text-emerald-700' : 'text-red-700'}`}>
          {said.text}
        </span>
      )}
    </span>
  );
}
