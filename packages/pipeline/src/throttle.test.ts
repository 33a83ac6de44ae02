import { describe, expect, it } from 'vitest';
import { Throttle } from './throttle.js';

describe('Throttle', () => {
  it('does not wait without a rate', async () => {
    expect(await new Throttle(null).take(1e12)).toBe(0);
  });
  it('makes later callers wait for their slot, and can be cancelled', async () => {
    const t = new Throttle(1000);
    await t.take(100); // more than the 50 ms of burst credit
    const controller = new AbortController();
    const waiting = t.take(1000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
  });
  it('keeps what is booked when the rate is set again (a re-split every second is no free burst)', async () => {
    const t = new Throttle(1000);
    await t.take(1000); // books the next second
    t.setRate(1000);
    const controller = new AbortController();
    const waiting = t.take(10, controller.signal);
    // Still behind the booked second: it must wait, so the abort lands before it resolves.
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
  });
  it('holds while a slot is booked ahead, and never without a limit', async () => {
    const none = new Throttle(null);
    await none.take(10_000_000);
    expect(none.holding).toBe(false);
    const t = new Throttle(1000);
    expect(t.holding).toBe(false);
    await t.take(1000); // the next second is booked
    expect(t.holding).toBe(true);
  });
  it('refuses a nonsense rate', () => {
    expect(() => new Throttle(0)).toThrow(RangeError);
    expect(() => new Throttle(-5)).toThrow(RangeError);
  });
});
