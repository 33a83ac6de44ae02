import { describe, expect, it } from 'vitest';
import { parseRoles } from './roles.js';

describe('parseRoles', () => {
  it.each([
    [[], ['controller', 'mover']],
    [['--role', 'controller'], ['controller']],
    [['--role=mover'], ['mover']],
    [
      ['--role', 'controller,mover'],
      ['controller', 'mover'],
    ],
  ])('%j → %j', (argv, expected) => {
    expect([...parseRoles(argv)].sort()).toEqual(expected);
  });

  it.each([
    [['--role', 'proxy'], 'unknown role "proxy"'],
    [['--role', ''], 'at least one'],
    [['--verbose'], 'unknown argument --verbose'],
  ])('%j is refused', (argv, message) => {
    expect(() => parseRoles(argv)).toThrow(message);
  });
});
