'use client';

import Link from 'next/link';
import { useState } from 'react';
import { api } from '@/components/api-client';
import { toMutationError } from '@/components/use-mutation';
import type { GuestFileVersionDto, MountDto } from '@/server/mount-schemas';
import { browserAt, humanSize } from './guest-files-view';

type Versions = { path: string; versions: GuestFileVersionDto[]; pointsNotIndexed: number };

/**
 * "Versions" of one file: the indexed points of the VM that hold it, with its size and time
 * in each; another point opens in the browser at the same folder.
 */
export function FileVersions({ mount, path, name }: { mount: MountDto; path: string; name: string }) {
  const [versions, setVersions] = useState<Versions | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [shown, setShown] = useState(false);

  async function toggle() {
    if (shown) return setShown(false);
    setShown(true);
    try {
      setVersions(await api<Versions>('GET', `/mounts/${mount.id}/versions?path=${encodeURIComponent(path)}`));
    } catch (e) {
      setProblem(toMutationError(e).text);
    }
  }

  return (
    <>
      <button type="button" onClick={() => void toggle()} className="ml-2 text-xs text-sky-700 underline" data-testid={`guest-versions-${name}`}>
        versions
      </button>
      {shown && (
        <div className="mt-1 rounded border border-slate-200 bg-slate-50 p-2 text-xs" data-testid={`guest-versions-of-${name}`}>
          {problem && <p className="text-red-700">{problem}</p>}
          {!versions && !problem && <p className="text-slate-500">Looking in the index…</p>}
          {versions && (
            <>
              <ul className="space-y-0.5">
                {versions.versions.map((v) => (
                  <li key={v.pointId} data-testid="guest-version">
                    {new Date(v.pointTime).toLocaleString()} ({v.pointKind}): {humanSize(v.size)}, modified {new Date(v.mtime).toLocaleString()}{' '}
                    {v.current ? (
                      <b>this point</b>
                    ) : (
                      <Link href={browserAt(v.pointId, path)} className="text-sky-700 underline">
                        open this point
                      </Link>
                    )}
                  </li>
                ))}
              </ul>
              {versions.versions.length === 0 && <p className="text-slate-500">No indexed point holds this file.</p>}
              {versions.pointsNotIndexed > 0 && (
                <p className="mt-1 text-slate-500">
                  {versions.pointsNotIndexed} point(s) of this VM are not indexed (the job option “Index guest files”): their versions are not listed.
                </p>
              )}
            </>
          )}
        </div>
      )}
    </>
  );
}
