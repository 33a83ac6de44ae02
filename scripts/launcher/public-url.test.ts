import { describe, expect, it } from 'vitest';
import { checkGivenEnv } from '@strongbox/config';
import { consoleUrl } from './public-url.js';

describe('consoleUrl', () => {
  it('follows the port actually used when STRONGBOX_PUBLIC_URL is not set', () => {
    expect(consoleUrl({ PORT: '3300' }, 3300)).toBe('http://localhost:3300');
    // PORT was taken: start-up listens on the next free port, and says so.
    expect(consoleUrl({ PORT: '3300' }, 3301)).toBe('http://localhost:3301');
  });
  it('treats an empty STRONGBOX_PUBLIC_URL as unset, as checkGivenEnv does', () => {
    expect(consoleUrl({ STRONGBOX_PUBLIC_URL: '' }, 3311)).toBe('http://localhost:3311');
  });
  it('keeps a STRONGBOX_PUBLIC_URL the user set, whatever the port', () => {
    expect(consoleUrl({ STRONGBOX_PUBLIC_URL: 'https://backup.example.com', PORT: '3300' }, 3300)).toBe('https://backup.example.com');
  });
  it('does not mistake the checked environment, which has the default filled in, for a set one', () => {
    // Why consoleUrl reads the raw environment: the bug was `given.STRONGBOX_PUBLIC_URL ?? …`.
    const raw = { PORT: '3300' };
    expect(checkGivenEnv(raw).STRONGBOX_PUBLIC_URL).toBe('http://localhost:3000');
    expect(consoleUrl(raw, checkGivenEnv(raw).PORT!)).toBe('http://localhost:3300');
  });
});
