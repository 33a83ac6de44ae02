/**
 * How values reach guestfish's line parser and how its printed output is read back.
 * guestfish splits a line on blanks; a double-quoted argument takes C escapes (`\\`, `\"`,
 * `\xHH`), so any string without NUL passes as one argument. A string-list argument is then
 * split again by `parse_string_list`: on blanks, with single quotes, where `\'` is a literal
 * quote — so a name holding a backslash right before a quote, or ending in one, cannot be
 * put in a list (callers fall back to a command per name).
 */

/** One guestfish argument, whatever it holds (NUL is refused upstream: paths never carry one). */
export function fishArg(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Whether a name can be an item of a guestfish string list. */
export function listable(name: string): boolean {
  return !name.includes("\\'") && !name.endsWith('\\') && !name.includes('\0');
}

/** A string-list argument (before `fishArg`): each item single-quoted. */
export function fishList(items: string[]): string {
  return items.map((item) => `'${item.replace(/'/g, "\\'")}'`).join(' ');
}

/** `list-filesystems`: `<device>: <type>` per line. */
export function parseFilesystemList(text: string): { device: string; type: string }[] {
  const found: { device: string; type: string }[] = [];
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(': ');
    if (at <= 0) continue;
    found.push({ device: line.slice(0, at), type: line.slice(at + 2).trim() });
  }
  return found;
}

export type FishStruct = Record<string, string>;

/** A printed list of structs (`lstatnslist`, `pvs-full`): `[n] = {`, `  key: value` lines, `}`. */
export function parseStructList(text: string): FishStruct[] {
  const list: FishStruct[] = [];
  let current: FishStruct | null = null;
  for (const line of text.split('\n')) {
    if (/^\[\d+\] = \{$/.test(line)) {
      current = {};
      continue;
    }
    if (line === '}') {
      if (current) list.push(current);
      current = null;
      continue;
    }
    if (!current) continue;
    const m = /^ {2}([a-z0-9_]+): (.*)$/.exec(line);
    if (m) current[m[1]!] = m[2]!;
  }
  return list;
}

/** One printed struct (`lstatns`): `key: value` lines. */
export function parseStruct(text: string): FishStruct {
  const struct: FishStruct = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+): (.*)$/.exec(line);
    if (m) struct[m[1]!] = m[2]!;
  }
  return struct;
}

/** A printed string list, one per line; null when the count is not the one asked (an item held a newline). */
export function parseLines(text: string, expected: number): string[] | null {
  if (expected === 0) return [];
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.length === expected ? lines : null;
}

/** NUL-separated names (`find0`, `ls0`); a trailing partial item stays in `rest`. */
export function splitNul(buffer: Buffer): { items: string[]; rest: Buffer } {
  const items: string[] = [];
  let start = 0;
  let at: number;
  while ((at = buffer.indexOf(0, start)) >= 0) {
    if (at > start) items.push(buffer.toString('utf8', start, at));
    start = at + 1;
  }
  return { items, rest: buffer.subarray(start) };
}
