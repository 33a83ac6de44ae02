'use client';

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DayResult } from '@strongbox/core';
import { bytes } from './format';

/** Backup runs per day by result, with the data transferred in the tooltip. */
export function DailyResultsChart({ days }: { days: DayResult[] }) {
  const data = days.map((d) => ({ ...d, label: d.day.slice(5) }));
  const total = days.reduce((n, d) => n + d.bytesTransferred, 0);
  return (
    <figure data-testid="daily-results-chart" aria-label="backup runs per day" className="h-56 rounded-lg border border-slate-200 bg-white p-4">
      <figcaption className="mb-1 text-xs text-slate-500">
        Backup runs per day, last {days.length} days — {bytes(total)} transferred
      </figcaption>
      <ResponsiveContainer width="100%" height="88%">
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="label" tick={{ fontSize: 10 }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 10 }} width={28} />
          <Tooltip
            labelFormatter={(_, items) => {
              const day = items[0]?.payload as (DayResult & { label: string }) | undefined;
              return day ? `${day.day}: ${bytes(day.bytesTransferred)} transferred` : '';
            }}
          />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          <Bar dataKey="success" stackId="r" fill="#059669" isAnimationActive={false} />
          <Bar dataKey="warning" stackId="r" fill="#d97706" isAnimationActive={false} />
          <Bar dataKey="failed" stackId="r" fill="#dc2626" isAnimationActive={false} />
          <Bar dataKey="running" stackId="r" fill="#0284c7" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
