import { describe, expect, it } from 'vitest';
import { namePatternToLike } from './name-pattern.js';

describe('a guest file search name as LIKE takes it', () => {
  it.each([
    ['report', '%report%'],
    ['*.conf', '%.conf'],
    ['rep?rt.*', 'rep_rt.%'],
    ['100%_done', '%100\\%\\_done%'],
    ['a\\b', '%a\\\\b%'],
    ['*', '%'],
  ])('%s → %s', (pattern, like) => {
    expect(namePatternToLike(pattern)).toBe(like);
  });
});
