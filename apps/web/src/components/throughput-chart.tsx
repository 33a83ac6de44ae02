'use client';

import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ThroughputPoint } from '@strongbox/core';
import { bytes } from './format';

const MiB = 1024 * 1024;

/** A session's read rate over time (Veeam's session throughput graph). */
export function ThroughputChart({ points, startedAt }: { points: ThroughputPoint[]; startedAt: string }) {
  const start = new Date(startedAt).getTime();
  const data = points.map((p) => ({ s: (p.t - start) / 1000, mibs: p.bytesPerSecond / MiB }));
  const span = data.at(-1)?.s ?? 0;
  const tick = (s: number) =>
    span < 20 ? `${s.toFixed(1)}s` : span < 600 ? `${Math.round(s)}s` : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;
  const peak = points.reduce((m, p) => Math.max(m, p.bytesPerSecond), 0);
  return (
    <figure data-testid="throughput-chart" aria-label="throughput over time" className="h-40">
      <figcaption className="mb-1 text-xs text-slate-500">Throughput (read){peak > 0 ? `, peak ${bytes(peak)}/s` : ''}</figcaption>
      {data.length === 0 ? (
        <p className="text-xs text-slate-400">No data read yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height="85%">
          <AreaChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            <XAxis dataKey="s" type="number" domain={[0, 'dataMax']} tickFormatter={tick} minTickGap={24} tick={{ fontSize: 10 }} />
            <YAxis
              tickFormatter={(v: number) => `${v.toFixed(v < 10 ? 1 : 0)}`}
              tick={{ fontSize: 10 }}
              width={36}
              label={{ value: 'MiB/s', angle: -90, position: 'insideLeft', fontSize: 10 }}
            />
            <Tooltip formatter={(v) => [`${Number(v).toFixed(1)} MiB/s`, 'read']} labelFormatter={(s) => tick(Number(s))} />
            <Area type="monotone" dataKey="mibs" stroke="#0369a1" fill="#bae6fd" isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
