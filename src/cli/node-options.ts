/**
 * The node options the service runs with are named once, on the first line of the CLI's entry
 * point (src/cli/main.ts): `#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=20`.
 * Every way of starting it goes through that line or reads it: the `consent-ivr` bin (systemd's
 * unit, an administrator's shell), `npm start`, the tests and the benchmark.
 *
 * Why these two. A call allocates little and lives for seconds, and V8's defaults are made for
 * throughput, not for a service that runs for months:
 * - `--max-semi-space-size=2`: a young generation of 2 MB semi-spaces (up to 16 MB each by default
 *   on 64-bit), which only reserved memory here.
 * - `--heap-growing-percent=20`: after each full collection the old generation may grow by 20 % of
 *   what is live before the next one. With the small young generation alone, more objects reach the
 *   old generation, and V8 let 60 MB of dead ones pile up there before collecting them (RSS 164 MB
 *   in a 5,000-call soak).
 * Together, in a soak of 5,000 calls 200 at a time, the service's RSS stays at 104–113 MB instead
 * of 136–148 MB without them in shorter soaks, for ~2 % more CPU per call (docs/benchmark.md, "Soak").
 */

/** The node options of a `#!` line that runs node (`#!/usr/bin/env -S node --a --b` → `['--a', '--b']`); [] for any other line. */
export function shebangNodeOptions(line: string): string[] {
  if (!line.startsWith('#!')) return [];
  const words = line.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  if (node < 0) return [];
  return words.slice(node + 1).filter((w) => w.startsWith('--'));
}
