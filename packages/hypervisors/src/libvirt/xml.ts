import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { HypervisorError } from '../errors.js';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['disk', 'channel', 'checkpoint', 'interface', 'seclabel'].includes(name),
});

export type XmlNode = Record<string, unknown>;

export function parseXml(text: string, what: string): XmlNode {
  try {
    return parser.parse(text) as XmlNode;
  } catch (e) {
    throw new HypervisorError('HV_BAD_XML', `cannot parse ${what}: ${(e as Error).message}`, { cause: e });
  }
}

export const node = (value: unknown): XmlNode => (value && typeof value === 'object' ? (value as XmlNode) : {});
export const list = (value: unknown): XmlNode[] => (Array.isArray(value) ? value.map(node) : value ? [node(value)] : []);
export const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'object' && value && '#text' in value ? String((value as XmlNode)['#text']) : undefined;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true });
export function buildXml(value: XmlNode): string {
  return builder.build(value) as string;
}
