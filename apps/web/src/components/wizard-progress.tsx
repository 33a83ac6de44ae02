/** A wizard's steps as the console shows them at its top: done, current, to come. */
export function WizardProgress({ steps, current }: { steps: readonly string[]; current: number }) {
  return (
    <ol className="mb-6 flex gap-2 text-sm" aria-label="Wizard steps">
      {steps.map((label, i) => (
        <li
          key={label}
          aria-current={i === current ? 'step' : undefined}
          className={`rounded-full px-3 py-1 ${i === current ? 'bg-sky-700 text-white' : i < current ? 'bg-sky-100 text-sky-800' : 'bg-slate-200 text-slate-600'}`}
        >
          {i + 1}. {label}
        </li>
      ))}
    </ol>
  );
}
