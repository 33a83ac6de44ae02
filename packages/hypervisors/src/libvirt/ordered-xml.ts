import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { HypervisorError } from '../errors.js';

/**
 * XML kept in document order, for rewriting a domain definition: libvirt assigns PCI
 * slots to devices without an address in the order they appear, so a rewrite must not
 * regroup `<disk>` and `<interface>` elements as the map-shaped parser in xml.ts does.
 * A node is `{ tag: children[], ':@'?: { '@name': value } }` or `{ '#text': string }`.
 */
export type XNode = Record<string, unknown>;

const ATTRS = ':@';
const options = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
} as const;
const parser = new XMLParser(options);
const builder = new XMLBuilder({ ...options, suppressEmptyNode: true });

export function parseOrdered(text: string, what: string): XNode[] {
  try {
    return parser.parse(text) as XNode[];
  } catch (e) {
    throw new HypervisorError('HV_BAD_XML', `cannot parse ${what}: ${(e as Error).message}`, { cause: e });
  }
}

export function buildOrdered(nodes: XNode[]): string {
  return builder.build(nodes) as string;
}

export function tagOf(n: XNode): string | null {
  return Object.keys(n).find((k) => k !== ATTRS && k !== '#text') ?? null;
}

export function childrenOf(n: XNode): XNode[] {
  const tag = tagOf(n);
  return tag ? (n[tag] as XNode[]) : [];
}

/** Child elements, optionally only those named `tag`. */
export function elements(n: XNode, tag?: string): XNode[] {
  return childrenOf(n).filter((c) => (tag ? tagOf(c) === tag : tagOf(c) !== null));
}

export function first(n: XNode, tag: string): XNode | undefined {
  return elements(n, tag)[0];
}

export function attr(n: XNode, name: string): string | undefined {
  const a = n[ATTRS] as Record<string, string> | undefined;
  return a?.[`@${name}`];
}

/** Sets (or with `undefined` removes) an attribute. */
export function setAttr(n: XNode, name: string, value: string | undefined): void {
  const a = { ...((n[ATTRS] as Record<string, string> | undefined) ?? {}) };
  if (value === undefined) delete a[`@${name}`];
  else a[`@${name}`] = value;
  if (Object.keys(a).length === 0) delete n[ATTRS];
  else n[ATTRS] = a;
}

export function textOf(n: XNode): string {
  return childrenOf(n)
    .map((c) => (typeof c['#text'] === 'string' ? c['#text'] : ''))
    .join('');
}

export function setText(n: XNode, text: string): void {
  const tag = tagOf(n)!;
  n[tag] = text === '' ? [] : [{ '#text': text }];
}

export function element(tag: string, attrs: Record<string, string> = {}, children: XNode[] = []): XNode {
  const n: XNode = { [tag]: children };
  for (const [k, v] of Object.entries(attrs)) setAttr(n, k, v);
  return n;
}

/** Removes the child elements for which `drop` is true, with the indentation before each. */
export function removeChildren(n: XNode, drop: (child: XNode) => boolean): number {
  const kids = childrenOf(n);
  let removed = 0;
  for (let i = kids.length - 1; i >= 0; i--) {
    const c = kids[i]!;
    if (tagOf(c) === null || !drop(c)) continue;
    const before = kids[i - 1];
    const blank = before && tagOf(before) === null && typeof before['#text'] === 'string' && before['#text'].trim() === '';
    kids.splice(blank ? i - 1 : i, blank ? 2 : 1);
    if (blank) i--;
    removed++;
  }
  return removed;
}

/** Replaces the first child named `tag` by `replacement`, or inserts it at `index` (default: the end). */
export function putChild(n: XNode, tag: string, replacement: XNode, index?: number): void {
  const kids = childrenOf(n);
  const at = kids.findIndex((c) => tagOf(c) === tag);
  if (at >= 0) kids[at] = replacement;
  else kids.splice(index ?? kids.length, 0, replacement);
}

/** The document's root element named `tag`. */
export function rootOf(doc: XNode[], tag: string, what: string): XNode {
  const root = doc.find((n) => tagOf(n) === tag);
  if (!root) throw new HypervisorError('HV_BAD_XML', `${what} has no <${tag}> element`);
  return root;
}
