import { describe, expect, it } from 'vitest';
import { GuestfsError, GuestPathError } from './errors.js';
import { joinGuestPath, normalizeGuestPath, splitGuestPath } from './paths.js';

describe('normalizeGuestPath', () => {
  it.each([
    ['/', '/'],
    ['/etc', '/etc'],
    ['/etc/', '/etc'],
    ['//etc//nested///deep', '/etc/nested/deep'],
    ['/./etc/./hosts', '/etc/hosts'],
    ['/a b/it\'s "x"', '/a b/it\'s "x"'],
    ['/with\nnewline', '/with\nnewline'],
    ['/...', '/...'],
    ['/..hidden', '/..hidden'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeGuestPath(input)).toBe(expected);
  });

  it.each([
    ['..', '/etc/../shadow'],
    ['..', '/..'],
    ['..', '/a/b/..'],
    ['NUL', '/etc/ho\0sts'],
    ['absolute', 'etc/hosts'],
    ['absolute', ''],
    ['absolute', './etc'],
    ['absolute', 'C:\\Windows'],
    ['string', 42],
    ['string', null],
    ['string', undefined],
    ['string', ['/etc']],
    ['longer', `/${'a'.repeat(5000)}`],
  ])('refuses (%s): %j', (why, input) => {
    let caught: unknown;
    try {
      normalizeGuestPath(input, 'paths[2]');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GuestPathError);
    expect(caught).toBeInstanceOf(GuestfsError);
    const error = caught as GuestPathError;
    expect(error.field).toBe('paths[2]');
    expect(error.code).toBe('GUESTFS_BAD_PATH');
    expect(error.message).toContain('paths[2]');
    expect(error.message).toContain(why);
  });

  it('names the field "path" by default', () => {
    expect(() => normalizeGuestPath('x')).toThrow(/^path must be absolute/);
  });
});

describe('splitGuestPath and joinGuestPath', () => {
  it('splits and joins without double slashes', () => {
    expect(splitGuestPath('/etc/hosts')).toEqual({ parent: '/etc', name: 'hosts' });
    expect(splitGuestPath('/etc')).toEqual({ parent: '/', name: 'etc' });
    expect(splitGuestPath('/')).toEqual({ parent: '/', name: '' });
    expect(joinGuestPath('/', 'etc')).toBe('/etc');
    expect(joinGuestPath('/sbfs0', 'etc/hosts')).toBe('/sbfs0/etc/hosts');
    expect(joinGuestPath('/sbfs0', '')).toBe('/sbfs0');
  });
});
