/**
 * Output files (src/files/output-file.ts): created with O_EXCL under a random name in the target's
 * folder, fsync'd, renamed. A symlink planted where a writer would predictably write is never followed.
 */
import crypto from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporaryNameFor, writeOutputFile } from '../../src/files/output-file';

let dir: string;
let victim: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'civr-out-'));
  victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('writeOutputFile', () => {
  test('When a file is written, then it holds the data with the mode asked (before the umask), and nothing else is left in the folder', () => {
    const out = join(dir, 'bundle.json');
    writeOutputFile(out, '{"a":1}\n', 0o640);
    expect(readFileSync(out, 'utf8')).toBe('{"a":1}\n');
    expect(statSync(out).mode & 0o777 & ~0o640).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['bundle.json', 'victim']);
    // Written again: replaced whole.
    writeOutputFile(out, Buffer.from('second'), 0o640);
    expect(readFileSync(out, 'utf8')).toBe('second');
    expect(readdirSync(dir).sort()).toEqual(['bundle.json', 'victim']);
  });

  test('When a symlink was planted at <out>.tmp (the name the CLI used to write through), then it is not followed and stays as it was', () => {
    const out = join(dir, 'report.html');
    symlinkSync(victim, `${out}.tmp`);
    writeOutputFile(out, 'report', 0o640);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readlinkSync(`${out}.tmp`)).toBe(victim);
    expect(readFileSync(out, 'utf8')).toBe('report');
  });

  test('When the target itself is a symlink, then it is replaced by the new file, never written through', () => {
    const out = join(dir, 'checkpoints.jsonl');
    symlinkSync(victim, out);
    writeOutputFile(out, 'checkpoints', 0o644);
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('checkpoints');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test('When a symlink (even a dangling one) is already at the temporary name, then the write fails (O_EXCL) and nothing is written anywhere', () => {
    const out = join(dir, 'proofs.json');
    const fixed = Buffer.alloc(12, 7);
    jest.spyOn(crypto, 'randomBytes').mockImplementation(() => fixed);
    const tmp = temporaryNameFor(out);
    symlinkSync(victim, tmp);
    expect(() => writeOutputFile(out, 'proofs')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(out)).toBe(false);
    rmSync(tmp);
    symlinkSync(join(dir, 'nothing-here'), tmp);
    expect(() => writeOutputFile(out, 'proofs')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(existsSync(join(dir, 'nothing-here'))).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  test('When temporary names are made, then they are in the target\'s folder, hidden, and never the same twice', () => {
    const out = join(dir, 'x.json');
    const a = temporaryNameFor(out);
    const b = temporaryNameFor(out);
    expect(a).not.toBe(b);
    for (const t of [a, b]) {
      expect(t.startsWith(`${dir}/.x.json.`)).toBe(true);
      expect(t).toMatch(/\.[0-9a-f]{24}\.tmp$/);
    }
  });

  test('When the folder does not exist, then the write fails and leaves nothing behind', () => {
    expect(() => writeOutputFile(join(dir, 'missing', 'x.json'), 'x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(dir)).toEqual(['victim']);
  });
});
