import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { shebangNodeOptions } from '../support/node-options';

const REPO = resolve(__dirname, '../..');
const mainLine = readFileSync(resolve(REPO, 'src/cli/main.ts'), 'utf8').split('\n', 1)[0] ?? '';

describe('the node options of the service', () => {
  test('are read from a #! line that runs node, and only from one', () => {
    expect(shebangNodeOptions('#!/usr/bin/env -S node --a=1 --b')).toEqual(['--a=1', '--b']);
    expect(shebangNodeOptions('#!/usr/bin/node --a')).toEqual(['--a']);
    expect(shebangNodeOptions('#!/usr/bin/env node')).toEqual([]);
    expect(shebangNodeOptions('#!/bin/sh --x')).toEqual([]);
    expect(shebangNodeOptions('/** not a shebang */')).toEqual([]);
  });

  test('the entry point names them with env -S, and node accepts them', () => {
    expect(mainLine).toMatch(/^#!\/usr\/bin\/env -S node( --\S+)+$/);
    const opts = shebangNodeOptions(mainLine);
    expect(opts).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--heap-growing-percent=20']));
    // A misspelt V8 option makes node exit with "bad option".
    expect(execFileSync(process.execPath, [...opts, '-p', '1'], { encoding: 'utf8' }).trim()).toBe('1');
  });

  test('npm start passes the same options, and the systemd unit runs the bin (and so its first line)', () => {
    const start = (JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
    const m = /node((?: --\S+)*) dist\/cli\/main\.js start/.exec(start);
    expect(m).not.toBeNull();
    expect((m?.[1] ?? '').trim().split(' ')).toEqual(shebangNodeOptions(mainLine));
    const unit = readFileSync(resolve(REPO, 'config/systemd/consent-ivr.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/env consent-ivr start$/m);
  });
});
