import { describe, expect, it } from 'vitest';
import { connectionUri } from './uri.js';

describe('connectionUri', () => {
  it.each([
    ['qemu:///system', null, 'qemu:///system'],
    ['qemu:///system', '/k', 'qemu:///system'],
    ['qemu+ssh://root@kvm1/system', '/etc/strongbox/id_ed25519', 'qemu+ssh://root@kvm1/system?keyfile=%2Fetc%2Fstrongbox%2Fid_ed25519'],
  ])('%s with key %s → %s', (uri, key, expected) => {
    expect(connectionUri(uri, key)).toBe(expected);
  });
});
