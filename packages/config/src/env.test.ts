import { describe, expect, it } from 'vitest';
import { checkGivenEnv, EnvError, parseEnv } from './env.js';

const good = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/strongbox',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AUTH_SECRET: 'x'.repeat(40),
};

function issuesOf(fn: () => unknown): { variable: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnvError) return error.issues;
    throw error;
  }
  throw new Error('expected an EnvError');
}

describe('parseEnv', () => {
  it('applies defaults and derives absolute paths', () => {
    const env = parseEnv(good, '/srv/strongbox');
    expect(env.PORT).toBe(3000);
    expect(env.dataDir).toBe('/srv/strongbox/.data');
    expect(env.repositoryPath).toBe('/srv/strongbox/.data/repository');
    expect(env.STRONGBOX_REDIS_PREFIX).toBe('strongbox');
  });

  it('takes a mover work dir only as an absolute path, and names it when it is not', () => {
    expect(parseEnv(good, '/srv').STRONGBOX_MOVER_WORK_DIR).toBeUndefined();
    expect(parseEnv({ ...good, STRONGBOX_MOVER_WORK_DIR: '/var/tmp/sb-a' }, '/srv').STRONGBOX_MOVER_WORK_DIR).toBe('/var/tmp/sb-a');
    const issues = issuesOf(() => parseEnv({ ...good, STRONGBOX_MOVER_WORK_DIR: 'tmp/sb' }, '/srv'));
    expect(issues.map((i) => i.variable)).toEqual(['STRONGBOX_MOVER_WORK_DIR']);
  });

  it('keeps an absolute repository path', () => {
    const env = parseEnv({ ...good, STRONGBOX_REPOSITORY_PATH: '/backups' }, '/srv');
    expect(env.repositoryPath).toBe('/backups');
  });

  it.each([
    ['DATABASE_URL', 'mysql://localhost/x', 'must be a postgresql:// URL'],
    ['DATABASE_URL', 'not a url', 'must be a postgresql:// URL'],
    ['REDIS_URL', 'http://localhost', 'must be a redis://'],
    ['AUTH_SECRET', 'short', 'must be at least 32 characters'],
    ['PORT', '70000', 'is invalid'],
    ['STRONGBOX_REDIS_PREFIX', 'a b', 'letters, digits'],
  ])('rejects %s=%s naming the variable', (variable, value, message) => {
    const issues = issuesOf(() => parseEnv({ ...good, [variable]: value }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.variable).toBe(variable);
    expect(new EnvError(issues).message).toContain(message);
  });

  it('names a missing variable as missing', () => {
    const { DATABASE_URL: _omit, ...rest } = good;
    const error = new EnvError(issuesOf(() => parseEnv(rest)));
    expect(error.message).toBe('environment variable DATABASE_URL is missing');
  });
});

describe('checkGivenEnv', () => {
  it('accepts an empty environment (start-up provides the rest)', () => {
    expect(() => checkGivenEnv({})).not.toThrow();
  });
  it('rejects a malformed given DATABASE_URL', () => {
    expect(issuesOf(() => checkGivenEnv({ DATABASE_URL: 'localhost:5432' }))[0]!.variable).toBe('DATABASE_URL');
  });
  it('derives the data folder and the default repository from what is given', () => {
    const given = checkGivenEnv({ STRONGBOX_DATA_DIR: 'state' }, '/srv');
    expect(given.dataDir).toBe('/srv/state');
    expect(given.repositoryPath).toBe('/srv/state/repository');
    expect(given.DATABASE_URL).toBeUndefined();
  });
  it('ignores variables that are not ours', () => {
    expect(() => checkGivenEnv({ PATH: '/bin', HOME: '/root' })).not.toThrow();
  });
});
