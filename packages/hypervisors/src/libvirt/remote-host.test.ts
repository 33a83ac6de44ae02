import { describe, expect, it } from 'vitest';
import { remoteHost } from './connector.js';

describe('remoteHost', () => {
  it.each([
    ['qemu:///system', null],
    ['qemu:///session', null],
    ['qemu+unix:///system?socket=/run/libvirt/libvirt-sock', null],
    ['qemu+ssh://root@kvm1.example/system', 'kvm1.example'],
    ['qemu+ssh://kvm2/system?keyfile=/k', 'kvm2'],
    ['qemu+tcp://10.0.0.2:16509/system', '10.0.0.2'],
    ['qemu+tls://[fd00::5]/system', 'fd00::5'],
    ['qemu://host3/system', 'host3'],
  ])('%s → %s', (uri, host) => {
    expect(remoteHost(uri)).toBe(host);
  });
});
