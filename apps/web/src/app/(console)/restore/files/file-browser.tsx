'use client';

import { useEffect, useRef, useState } from 'react';
import { api } from '@/components/api-client';
import { toMutationError } from '@/components/use-mutation';
import type { DownloadFormat, FileEntry, ListingDto, MountDto } from '@/server/mount-schemas';
import { FileVersions } from './file-versions';
import { RestoreToVm } from './restore-to-vm';
import { breadcrumbs, downloadHref, humanSize, matchesFilter, modeString, needsArchive, type Selected } from './guest-files-view';

const FORMATS: { value: DownloadFormat; label: string }[] = [
  { value: 'tar.gz', label: '.tar.gz' },
  { value: 'zip', label: '.zip' },
];

type Listing = { path: string; files: FileEntry[] };

/** A folder's entries; the file-system entries only `/` has are shown from the mount instead. */
const split = (listing: ListingDto): Listing => ({ path: listing.path, files: listing.entries.filter((e): e is FileEntry => e.type !== 'filesystem') });

/**
 * The file browser of a ready mount: its file systems at the top, then folders with
 * breadcrumbs. Files and folders of the folder shown are selected with their boxes and
 * downloaded by the browser itself from the API (a link), so nothing is held in the page.
 */
export function FileBrowser({ mount, onStale, initialPath }: { mount: MountDto; onStale: () => void; initialPath?: string | undefined }) {
  const [path, setPath] = useState(initialPath ?? '/');
  const [listing, setListing] = useState<Listing | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<Map<string, Selected>>(new Map());
  const [format, setFormat] = useState<DownloadFormat>('tar.gz');

  // The page's callback of the latest render, without reloading the folder each time it renders.
  const stale = useRef(onStale);
  useEffect(() => {
    stale.current = onStale;
  });

  useEffect(() => {
    setListing(null);
    setProblem(null);
    // `/` lists the file systems, which the mount has already: the table above shows them.
    if (path === '/') return;
    let current = true;
    api<ListingDto>('GET', `/mounts/${mount.id}/files?path=${encodeURIComponent(path)}`).then(
      (r) => {
        if (current) setListing(split(r));
      },
      (e: unknown) => {
        if (!current) return; // another folder was opened meanwhile
        const failure = toMutationError(e);
        setProblem(failure.text);
        // 409: the mount is no longer ready (idle timeout, its mover gone): the page reads its state.
        if (failure.status === 409) stale.current();
      },
    );
    return () => {
      current = false;
    };
  }, [mount.id, path]);

  function open(to: string) {
    setPath(to);
    setFilter('');
    setSelected(new Map());
  }

  const shown = listing?.files.filter((f) => matchesFilter(f.name, filter)) ?? [];
  const chosen = [...selected.values()];
  const href = downloadHref(mount.id, chosen, format);
  const archive = needsArchive(chosen);
  const allShown = shown.length > 0 && shown.every((f) => selected.has(f.path));

  function toggle(entry: FileEntry, on: boolean) {
    setSelected((s) => {
      const next = new Map(s);
      if (on) next.set(entry.path, { path: entry.path, type: entry.type });
      else next.delete(entry.path);
      return next;
    });
  }

  function toggleShown(on: boolean) {
    setSelected((s) => {
      const next = new Map(s);
      for (const f of shown) {
        if (on) next.set(f.path, { path: f.path, type: f.type });
        else next.delete(f.path);
      }
      return next;
    });
  }

  return (
    <div className="space-y-3" data-testid="guest-browser" data-path={path}>
      <FileSystems mount={mount} onOpen={open} current={path} />
      <nav aria-label="Breadcrumbs" className="flex flex-wrap items-center gap-1 text-sm" data-testid="guest-breadcrumbs">
        {breadcrumbs(path).map((c, i, all) => (
          <span key={c.path} className="flex items-center gap-1">
            {i > 0 && <span className="text-slate-400">/</span>}
            {i === all.length - 1 ? (
              <span aria-current="location" className="font-medium" data-testid={`guest-crumb-${c.path}`}>
                {c.name}
              </span>
            ) : (
              <button type="button" onClick={() => open(c.path)} className="text-sky-700 underline" data-testid={`guest-crumb-${c.path}`}>
                {c.name}
              </button>
            )}
          </span>
        ))}
      </nav>
      {problem && (
        <p role="alert" className="rounded bg-red-50 p-3 text-sm text-red-700" data-testid="guest-list-error">
          {problem}
        </p>
      )}
      {path === '/' && mount.filesystems.length > 0 && <p className="text-sm text-slate-500">Open a file system to see its folders and files.</p>}
      {path !== '/' && !listing && !problem && (
        <p className="text-sm text-slate-500" data-testid="guest-loading">
          Reading {path}…
        </p>
      )}
      {listing && (
        <>
          <div className="flex flex-wrap items-center gap-3">
            <input
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              placeholder="Filter by name (* and ? match)"
              aria-label="Filter by name"
              className="w-64 rounded border border-slate-300 px-2 py-1 text-sm"
              data-testid="guest-filter"
            />
            <span className="text-sm text-slate-600" data-testid="guest-selected-count">
              {chosen.length} selected
            </span>
            <div className="ml-auto flex items-center gap-2">
              <label className="text-sm text-slate-600">
                As{' '}
                <select
                  value={format}
                  onChange={(e) => setFormat(e.target.value as DownloadFormat)}
                  disabled={!archive}
                  aria-label="Archive format"
                  className="rounded border border-slate-300 px-1 py-1 disabled:opacity-50"
                  data-testid="guest-format"
                >
                  {FORMATS.map((f) => (
                    <option key={f.value} value={f.value}>
                      {f.label}
                    </option>
                  ))}
                </select>
              </label>
              {href ? (
                <a href={href} download className="rounded bg-sky-700 px-4 py-1.5 text-sm text-white" data-testid="guest-download">
                  {archive ? `Download as .${format}` : 'Download'}
                </a>
              ) : (
                <span aria-disabled="true" className="rounded bg-sky-700 px-4 py-1.5 text-sm text-white opacity-50" data-testid="guest-download">
                  Download
                </span>
              )}
            </div>
          </div>
          <RestoreToVm mount={mount} chosen={chosen} />
          <table className="w-full rounded-lg border border-slate-200 bg-white text-sm" data-testid="guest-entries">
            <thead className="bg-slate-100 text-left text-slate-600">
              <tr>
                <th className="w-8 p-2">
                  <input
                    type="checkbox"
                    checked={allShown}
                    onChange={(e) => toggleShown(e.target.checked)}
                    disabled={shown.length === 0}
                    aria-label="Select all shown"
                    data-testid="guest-select-all"
                  />
                </th>
                <th className="p-2">Name</th>
                <th className="p-2 text-right">Size</th>
                <th className="p-2">Modified</th>
                <th className="p-2">Owner</th>
                <th className="p-2">Mode</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => (
                <tr
                  key={f.path}
                  className={`border-t border-slate-100 ${selected.has(f.path) ? 'bg-sky-50' : ''}`}
                  data-testid={`guest-entry-${f.name}`}
                  data-type={f.type}
                >
                  <td className="p-2">
                    <input
                      type="checkbox"
                      checked={selected.has(f.path)}
                      onChange={(e) => toggle(f, e.target.checked)}
                      aria-label={`Select ${f.name}`}
                      data-testid={`guest-select-${f.name}`}
                    />
                  </td>
                  <td className="p-2">
                    {f.type === 'directory' ? (
                      <button
                        type="button"
                        onClick={() => open(f.path)}
                        className="font-medium text-sky-700 underline"
                        data-testid={`guest-open-dir-${f.name}`}
                      >
                        {f.name}/
                      </button>
                    ) : (
                      <span>{f.name}</span>
                    )}
                    {f.type === 'file' && <FileVersions mount={mount} path={f.path} name={f.name} />}
                    {f.type === 'symlink' && f.linkTarget !== undefined && <span className="text-slate-500"> → {f.linkTarget}</span>}
                  </td>
                  <td className="p-2 text-right tabular-nums">{f.type === 'file' ? humanSize(f.size) : ''}</td>
                  <td className="p-2">{new Date(f.mtime).toLocaleString()}</td>
                  <td className="p-2 tabular-nums">
                    {f.uid}:{f.gid}
                  </td>
                  <td className="p-2 font-mono text-xs">{modeString(f.mode)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && (
            <p className="text-sm text-slate-500" data-testid="guest-empty">
              {listing.files.length === 0 ? 'This folder is empty.' : `Nothing here is named like “${filter}”.`}
            </p>
          )}
        </>
      )}
    </div>
  );
}

/** The point's file systems: what each is, and a way into those that open. */
function FileSystems({ mount, onOpen, current }: { mount: MountDto; onOpen: (path: string) => void; current: string }) {
  const key = current.split('/')[1] ?? '';
  if (mount.filesystems.length === 0) {
    return (
      <p className="rounded-lg border border-dashed border-slate-300 bg-white p-4 text-sm text-slate-600" data-testid="guest-no-filesystems">
        No file system was found on this point&apos;s disks.
      </p>
    );
  }
  return (
    <table className="w-full rounded-lg border border-slate-200 bg-white text-sm" data-testid="guest-filesystems">
      <thead className="bg-slate-100 text-left text-slate-600">
        <tr>
          <th className="p-2">File system</th>
          <th className="p-2">Device</th>
          <th className="p-2">Type</th>
          <th className="p-2">Label</th>
          <th className="p-2 text-right">Size</th>
        </tr>
      </thead>
      <tbody>
        {mount.filesystems.map((fs) => (
          <tr key={fs.key} className={`border-t border-slate-100 ${fs.key === key ? 'bg-sky-50' : ''}`} data-testid={`guest-fs-${fs.key}`}>
            <td className="p-2">
              {fs.mountable ? (
                <button
                  type="button"
                  onClick={() => onOpen(`/${fs.key}`)}
                  className="font-medium text-sky-700 underline"
                  data-testid={`guest-open-fs-${fs.key}`}
                >
                  {fs.key}
                </button>
              ) : (
                <span title="The appliance cannot read this file system">{fs.key} (cannot be opened)</span>
              )}
            </td>
            <td className="p-2 font-mono text-xs">{fs.device}</td>
            <td className="p-2">{fs.type}</td>
            <td className="p-2">{fs.label ?? ''}</td>
            <td className="p-2 text-right tabular-nums">{humanSize(fs.sizeBytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
