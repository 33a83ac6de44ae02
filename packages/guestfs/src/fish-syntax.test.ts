import { describe, expect, it } from 'vitest';
import { addDriveArgs, driveIndexOfDevice } from './drives.js';
import { fishArg, fishList, listable, parseFilesystemList, parseLines, parseStruct, parseStructList, splitNul } from './fish-syntax.js';
import { batchNames } from './stat-batch.js';

describe('guestfish quoting', () => {
  it('double-quotes an argument with C escapes', () => {
    expect(fishArg('/etc/hosts')).toBe('"/etc/hosts"');
    expect(fishArg('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(fishArg('line\nbreak\ttab\x7f')).toBe('"line\\x0abreak\\x09tab\\x7f"');
    expect(fishArg('été | # !')).toBe('"été | # !"');
  });

  it("single-quotes list items, a quote as \\'", () => {
    expect(fishList(['a', 'b c', "it's"])).toBe("'a' 'b c' 'it\\'s'");
    expect(listable("it's")).toBe(true);
    expect(listable("back\\'slash")).toBe(false);
    expect(listable('ends\\')).toBe(false);
  });

  it('cuts name lists to what one guestfish line holds', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `file-${String(i).padStart(5, '0')}`);
    const { lists, single } = batchNames('/sbfs0/dir', [...names, "x\\'y"]);
    expect(single).toEqual(["x\\'y"]);
    expect(lists.flat()).toEqual(names);
    expect(lists.length).toBeGreaterThan(1);
    for (const list of lists) expect(Buffer.byteLength(`-lstatnslist ${fishArg('/sbfs0/dir')} ${fishArg(fishList(list))}`)).toBeLessThanOrEqual(8000);
  });
});

describe('guestfish output parsers', () => {
  it('reads list-filesystems', () => {
    expect(parseFilesystemList('/dev/sda1: ext4\n/dev/sbvg/data: xfs\n/dev/sdb2: swap\n')).toEqual([
      { device: '/dev/sda1', type: 'ext4' },
      { device: '/dev/sbvg/data', type: 'xfs' },
      { device: '/dev/sdb2', type: 'swap' },
    ]);
  });

  it('reads a list of structs and one struct', () => {
    const text = '[0] = {\n  st_ino: 13\n  st_mode: 33188\n}\n[1] = {\n  st_ino: -1\n  st_mode: 0\n}\n';
    expect(parseStructList(text)).toEqual([
      { st_ino: '13', st_mode: '33188' },
      { st_ino: '-1', st_mode: '0' },
    ]);
    expect(parseStruct('st_ino: 13\nst_size: 6\n')).toEqual({ st_ino: '13', st_size: '6' });
  });

  it('reads string lists and tells when a newline made them ambiguous', () => {
    expect(parseLines('../hosts\n\n', 2)).toEqual(['../hosts', '']);
    expect(parseLines('a\nb\nc\n', 2)).toBeNull();
    expect(parseLines('', 0)).toEqual([]);
  });

  it('splits NUL-separated names and keeps a partial one', () => {
    const { items, rest } = splitNul(Buffer.from('a\0b/c\0partial'));
    expect(items).toEqual(['a', 'b/c']);
    expect(rest.toString()).toBe('partial');
  });
});

describe('drives', () => {
  it('turns an NBD URI into read-only add-drive arguments', () => {
    expect(addDriveArgs({ uri: 'nbd:///vda?socket=/run/sb/nbd.sock', name: 'vda' })).toEqual([
      'vda',
      'protocol:nbd',
      "server:'unix:/run/sb/nbd.sock'",
      'readonly:true',
      'format:raw',
      'name:vda',
    ]);
    expect(addDriveArgs({ uri: '/var/lib/disk.qcow2', format: 'qcow2' })).toEqual(['/var/lib/disk.qcow2', 'readonly:true', 'format:qcow2']);
    expect(() => addDriveArgs({ uri: 'http://x/disk' })).toThrow(/unsupported/);
    expect(() => addDriveArgs({ uri: 'nbd:///vda' })).toThrow(/socket/);
    expect(() => addDriveArgs({ uri: '/d', name: 'vd a' })).toThrow(/name/);
  });

  it('maps appliance devices to drive indexes', () => {
    expect(driveIndexOfDevice('/dev/sda')).toBe(0);
    expect(driveIndexOfDevice('/dev/sdb2')).toBe(1);
    expect(driveIndexOfDevice('/dev/sdaa1')).toBe(26);
    expect(driveIndexOfDevice('/dev/sbvg/data')).toBeNull();
  });
});
