import { describe, expect, it } from 'vitest';
import { isTransientDbError, whileDbAway } from './errors.js';

const adapter = (originalCode: string) =>
  Object.assign(new Error('Database error'), { code: 'P2039', meta: { driverAdapterError: { cause: { originalCode } } } });

describe('isTransientDbError', () => {
  it.each([
    ['a database not accepting connections (55000)', adapter('55000'), true],
    ['an administrator shutdown (57P01)', adapter('57P01'), true],
    ['a connection exception (08006)', adapter('08006'), true],
    ['Prisma: server unreachable', Object.assign(new Error('x'), { code: 'P1001' }), true],
    ['a dropped connection, by its message', new Error('Connection terminated unexpectedly'), true],
    ['a unique violation', Object.assign(new Error('x'), { code: 'P2002' }), false],
    ['a syntax error (42601)', adapter('42601'), false],
    ['anything else', new Error('boom'), false],
  ])('%s: %s', (_name, error, transient) => {
    expect(isTransientDbError(error)).toBe(transient);
  });
});

describe('whileDbAway', () => {
  it('waits out a database that is away, then answers', async () => {
    let calls = 0;
    const value = await whileDbAway(async () => {
      if (++calls < 3) throw adapter('57P03');
      return 'ok';
    });
    expect([value, calls]).toEqual(['ok', 3]);
  });

  it('throws at once what is not an outage, and an outage that outlasts its patience', async () => {
    await expect(whileDbAway(() => Promise.reject(Object.assign(new Error('dup'), { code: 'P2002' })))).rejects.toThrow('dup');
    await expect(whileDbAway(() => Promise.reject(adapter('55000')), 300)).rejects.toThrow('Database error');
  });
});
