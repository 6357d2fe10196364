/**
 * The node options the service runs with are named once, on the first line of its entry point
 * (src/cli/main.ts, why there). The tests and the benchmark start the built CLI with the options of
 * that line, as the `consent-ivr` bin runs it.
 */

/** The node options of a `#!` line that runs node (`#!/usr/bin/env -S node --a --b` → `['--a', '--b']`); [] for any other line. */
export function shebangNodeOptions(line: string): string[] {
  if (!line.startsWith('#!')) return [];
  const words = line.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  if (node < 0) return [];
  return words.slice(node + 1).filter((w) => w.startsWith('--'));
}
