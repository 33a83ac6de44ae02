/**
 * A guest file search's name, as SQL's (I)LIKE takes it: a plain word matches anywhere in
 * the name; with `*` (any run) or `?` (one character) it is a pattern of the whole name, as
 * a shell's. LIKE's own `%`, `_` and the escape `\` are matched literally.
 */
export function namePatternToLike(pattern: string): string {
  const escaped = pattern.replace(/[\\%_]/g, (c) => `\\${c}`);
  if (!/[*?]/.test(pattern)) return `%${escaped}%`;
  return escaped.replace(/\*/g, '%').replace(/\?/g, '_');
}
