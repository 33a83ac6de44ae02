import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NbdClient, NbdDiskReader, NbdError } from '../src/index.js';
import { startQemuNbd, type QemuNbd } from './qemu-nbd.js';

const MiB = 1024 * 1024;
const haveQemu = (() => {
  try {
    execFileSync('qemu-nbd', ['--version']);
    execFileSync('nbdinfo', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!haveQemu) console.warn('SKIPPING NBD integration tests: qemu-nbd / nbdinfo are not installed (run `pnpm lab:up` as root)');

const dir = mkdtempSync(join(tmpdir(), 'strongbox-nbd-test-'));
const image = join(dir, 'disk.qcow2');
const raw = join(dir, 'disk.raw');
const sock = join(dir, 'nbd.sock');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

type MapEntry = { offset: number; length: number; type: number };
function nbdinfoMap(context: string, socket: string): MapEntry[] {
  const out = sh('nbdinfo', ['--json', `--map=${context}`, `nbd+unix:///?socket=${socket}`]);
  return JSON.parse(out) as MapEntry[];
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveQemu)('NBD client against qemu-nbd', () => {
  let server: QemuNbd;
  beforeAll(async () => {
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    // Data, an explicit zero range, then a bitmap, then changes that the bitmap records.
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x11 1M 3M', '-c', 'write -q -z 8M 1M', '-c', 'write -q -P 0x33 40M 64k', image]);
    sh('qemu-img', ['bitmap', '--add', image, 'b1']);
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x22 16M 1M', '-c', 'write -q -P 0x44 2M 128k', '-c', 'write -q -z 40M 64k', image]);
    sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image, raw]);
    server = await startQemuNbd(['-r', '-f', 'qcow2', '-B', 'b1', image], { socket: sock });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads the same bytes as the image holds, with many requests in flight over several connections', async () => {
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '', connections: 4, maxRequestBytes: 256 * 1024 });
    expect(client.connectionCount).toBe(4);
    expect(client.size).toBe(64 * MiB);
    const expected = readFileSync(raw);
    const all = await client.read(0, client.size);
    expect(all.equals(expected)).toBe(true);
    // Odd offsets and lengths, all at once.
    const ranges = Array.from({ length: 200 }, (_, i) => [(i * 7919 * 4099) % (60 * MiB), 1 + ((i * 104729) % (3 * MiB))] as const);
    const got = await Promise.all(ranges.map(([o, l]) => client.read(o, l)));
    ranges.forEach(([o, l], i) => expect(got[i]!.equals(expected.subarray(o, o + l))).toBe(true));
    await client.close();
  });

  it('lists allocated extents as nbdinfo does for base:allocation', async () => {
    const reader = await NbdDiskReader.open({ endpoint: { kind: 'unix', path: sock }, exportName: '', mode: 'allocated' });
    const ours = [];
    for await (const e of reader.extents()) ours.push(e);
    const theirs = nbdinfoMap('base:allocation', sock)
      .filter((m) => (m.type & 3) !== 3)
      .map((m) => ({ offset: m.offset, length: m.length, zero: (m.type & 2) !== 0 }));
    expect(ours).toEqual(theirs);
    expect(reader.mode).toBe('allocated');
    await reader.close();
  });

  it('lists exactly the dirty extents of a qemu:dirty-bitmap context', async () => {
    const reader = await NbdDiskReader.open({
      endpoint: { kind: 'unix', path: sock },
      exportName: '',
      mode: 'changed',
      dirtyContext: 'qemu:dirty-bitmap:b1',
    });
    const ours = [];
    for await (const e of reader.extents()) ours.push(e);
    expect(ours).toEqual([
      { offset: 2 * MiB, length: 128 * 1024, zero: false },
      { offset: 16 * MiB, length: MiB, zero: false },
      { offset: 40 * MiB, length: 64 * 1024, zero: true },
    ]);
    const dirty = nbdinfoMap('qemu:dirty-bitmap:b1', sock).filter((m) => m.type & 1);
    expect(dirty.reduce((s, m) => s + m.length, 0)).toBe(ours.reduce((s, e) => s + e.length, 0));
    await reader.close();
  });

  it('refuses a meta context the export does not have', async () => {
    const error = await NbdDiskReader.open({
      endpoint: { kind: 'unix', path: sock },
      exportName: '',
      mode: 'changed',
      dirtyContext: 'qemu:dirty-bitmap:nope',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NbdError);
    expect((error as NbdError).code).toBe('NBD_META_CONTEXT');
  });

  it('rejects reads outside the export with a clear error', async () => {
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: sock }, exportName: '' });
    await expect(client.read(64 * MiB - 10, 11)).rejects.toMatchObject({ code: 'NBD_RANGE' });
    await client.close();
    await expect(client.read(0, 1)).rejects.toMatchObject({ code: 'NBD_CLOSED' });
  });

  it('says so when nothing listens on the socket', async () => {
    await expect(NbdClient.connect({ endpoint: { kind: 'unix', path: join(dir, 'none.sock') }, exportName: '' })).rejects.toMatchObject({
      code: 'NBD_CONNECT',
    });
  });
});

describe.skipIf(!haveQemu)('NBD client over TCP, named exports, TLS, and a dying server', () => {
  const big = join(dir, 'big.qcow2');
  beforeAll(() => {
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', big, '256M']);
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x5a 0 256M', big]);
  });

  it('reads a named export over TCP and names an unknown export in the error', async () => {
    const server = await startQemuNbd(['-r', '-f', 'qcow2', '-x', 'disk0', big], { port: 10809 + (process.pid % 1000) });
    try {
      const endpoint = { kind: 'tcp' as const, host: '127.0.0.1', port: 10809 + (process.pid % 1000) };
      const client = await NbdClient.connect({ endpoint, exportName: 'disk0', connections: 2 });
      const data = await client.read(100 * MiB, 3 * MiB);
      expect(data.every((b) => b === 0x5a)).toBe(true);
      await client.close();
      const error = await NbdClient.connect({ endpoint, exportName: 'nope' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NBD_EXPORT' });
      expect((error as Error).message).toContain('nope');
    } finally {
      await server.stop();
    }
  });

  it('negotiates TLS when the server requires it, and says TLS is required when not configured', async () => {
    const pki = join(dir, 'pki');
    sh('mkdir', ['-p', pki]);
    sh('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=strongbox-test-ca',
      '-keyout',
      join(pki, 'ca-key.pem'),
      '-out',
      join(pki, 'ca-cert.pem'),
    ]);
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', join(pki, 'server-key.pem'), '-out', join(pki, 'server.csr')]);
    writeFileSync(join(pki, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    sh('openssl', [
      'x509',
      '-req',
      '-in',
      join(pki, 'server.csr'),
      '-CA',
      join(pki, 'ca-cert.pem'),
      '-CAkey',
      join(pki, 'ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      join(pki, 'ext.cnf'),
      '-out',
      join(pki, 'server-cert.pem'),
    ]);
    const tlsSock = join(dir, 'tls.sock');
    const server = await startQemuNbd(
      ['--object', `tls-creds-x509,id=tls0,dir=${pki},endpoint=server,verify-peer=off`, '--tls-creds', 'tls0', '-r', '-f', 'qcow2', big],
      { socket: tlsSock },
    );
    try {
      const endpoint = { kind: 'unix' as const, path: tlsSock };
      await expect(NbdClient.connect({ endpoint, exportName: '' })).rejects.toMatchObject({ code: 'NBD_TLS_REQUIRED' });
      const tls = { ca: readFileSync(join(pki, 'ca-cert.pem')), servername: 'localhost' };
      const client = await NbdClient.connect({ endpoint, exportName: '', tls, connections: 2 });
      const data = await client.read(0, 8 * MiB);
      expect(data.every((b) => b === 0x5a)).toBe(true);
      await client.close();
    } finally {
      await server.stop();
    }
  });

  it('fails reads in flight with a clear error when the server dies mid-read', async () => {
    const dying = join(dir, 'dying.sock');
    const server = await startQemuNbd(['-r', '-f', 'qcow2', big], { socket: dying });
    const client = await NbdClient.connect({ endpoint: { kind: 'unix', path: dying }, exportName: '', maxRequestBytes: 256 * 1024 });
    const reading = client.read(0, 256 * MiB).catch((e: unknown) => e);
    while (client.stats.readRequests === 0) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGKILL');
    const error = await reading;
    expect(error).toBeInstanceOf(NbdError);
    expect((error as NbdError).code).toBe('NBD_CONNECTION_CLOSED');
    expect((error as Error).message).toMatch(/closed the connection.*in flight/);
    await client.close();
    await server.stop();
  });
});
