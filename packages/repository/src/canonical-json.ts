import { RepositoryError } from './errors.js';

/**
 * The JSON Canonicalization Scheme (RFC 8785) form of a parsed JSON value: object members
 * sorted by key in UTF-16 code units (JavaScript's default sort), no whitespace, strings
 * and numbers as ECMAScript's JSON.stringify prints them (which RFC 8785 adopts). This is
 * what point.json's checksum covers, so that the checksum depends on the content and not
 * on indentation or member order, and any JCS library in another language reproduces it.
 *
 * Built as a string, never as an object: a "__proto__" key must stay a plain member.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RepositoryError('BAD_ARGUMENT', `${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  throw new RepositoryError('BAD_ARGUMENT', `a ${typeof value} has no JSON form`);
}
