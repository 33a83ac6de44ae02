import { describe, expect, it } from 'vitest';
import { jobSpecSchema, jobUpdateSchema, matchesPattern, notifySwitch, type JobSpecInput } from './job-spec.js';

const base: JobSpecInput = {
  name: 'Nightly',
  connectionId: '11111111-1111-4111-8111-111111111111',
  repositoryId: '22222222-2222-4222-8222-222222222222',
  objects: [{ type: 'vm', vmId: '33333333-3333-4333-8333-333333333333' }],
  retention: { keepPoints: 14 },
  schedule: { kind: 'daily', times: ['22:00'], weekdays: [1, 2, 3, 4, 5] },
};

function fields(input: unknown): string[] {
  const r = jobSpecSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
}

describe('jobSpecSchema', () => {
  it('fills defaults', () => {
    const spec = jobSpecSchema.parse(base);
    expect(spec.options).toEqual({
      blockSizeKiB: 1024,
      compression: 'optimal',
      applicationAware: true,
      requireSuccessfulProcessing: false,
      indexGuestFiles: false,
      activeFull: { kind: 'never' },
      notify: { onSuccess: true, onWarning: true, onFailure: true, to: [] },
    });
    expect(spec.retries).toEqual({ count: 3, waitMinutes: 10 });
    expect(spec.retention.gfs).toEqual({ weekly: 0, monthly: 0, yearly: 0 });
    expect(spec.timeZone).toBe('UTC');
  });

  it.each([
    ['a schedule at 25:00', { schedule: { kind: 'daily', times: ['25:00'], weekdays: [1] } }, ['schedule.times.0']],
    ['no objects', { objects: [] }, ['objects']],
    ['a block size that is not offered', { options: { blockSizeKiB: 2048 } }, ['options.blockSizeKiB']],
    ['retention with neither points nor days', { retention: { gfs: { weekly: 4 } } }, ['retention.keepPoints']],
    ['an unknown time zone', { timeZone: 'Mars/Base' }, ['timeZone']],
    ['a window with no hour', { window: { allowed: Array.from({ length: 7 }, () => Array(24).fill(false)) } }, ['window.allowed']],
    ['an unknown field', { colour: 'red' }, ['']],
    ['a repository that is not an id', { repositoryId: 'default' }, ['repositoryId']],
    ['a job email recipient that is not an address', { options: { notify: { to: ['ops'] } } }, ['options.notify.to.0']],
  ])('refuses %s, naming the field', (_name, change, expected) => {
    expect(fields({ ...base, ...change })).toEqual(expected);
  });
});

describe('notifySwitch', () => {
  it.each([
    ['success', 'onSuccess'],
    ['warning', 'onWarning'],
    ['failed', 'onFailure'],
    ['cancelled', 'onFailure'],
    ['interrupted', 'onFailure'],
  ])('a %s run falls under %s', (status, key) => {
    expect(notifySwitch(status)).toBe(key);
  });
});

describe('matchesPattern', () => {
  it.each([
    ['web-01', 'web-*', true],
    ['WEB-01', 'web-*', true],
    ['db-01', 'web-*', false],
    ['web-1', 'web-?', true],
    ['web-10', 'web-?', false],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
  ])('%s ~ %s → %s', (name, pattern, expected) => {
    expect(matchesPattern(name, pattern)).toBe(expected);
  });
});

describe('jobUpdateSchema', () => {
  it('takes the definition plus the version, still checking the time zone', () => {
    expect(jobUpdateSchema.parse({ ...base, version: 3 }).version).toBe(3);
    expect(jobUpdateSchema.safeParse(base).success).toBe(false);
    expect(jobUpdateSchema.safeParse({ ...base, version: 1, timeZone: 'Nowhere/Else' }).error?.issues[0]?.path).toEqual(['timeZone']);
  });
});
