/**
 * The capacity search of `--capacity` (issue 26, item 3): which sustained rate to try next, given the
 * steps so far. Pure (unit tested in test/unit/bench-targets.test.ts); each step is a `--rate` run
 * whose verdict (targets.ts rateHolds) the caller records.
 *
 * Start at `start` calls/s and double while the bounds hold (up to `max`); once a rate fails, bisect
 * between the highest rate that held below it and the lowest that failed, until they are within
 * `precision` (0.1: 10 %) of each other. When the start rate already fails, halve down to `min`.
 * At most `maxSteps` steps. The result is the highest rate that held below the lowest that failed.
 */

export interface SearchOptions {
  /** The first rate tried (calls/s). */
  start: number;
  /** No rate above this is tried: reaching it and holding ends the search. */
  max: number;
  /** No rate below this is tried: failing at it ends the search with nothing found. */
  min: number;
  /** Stop when (failed − held) / held ≤ precision. */
  precision: number;
  maxSteps: number;
}

export interface Step {
  rate: number;
  holds: boolean;
}

export type Next = { rate: number } | { done: true; found: number | null; reason: string };

export const DEFAULT_SEARCH: SearchOptions = { start: 2, max: 64, min: 0.25, precision: 0.1, maxSteps: 10 };

/** Rates are tried to the hundredth of a call per second. */
const round = (r: number): number => Math.round(r * 100) / 100;

/** The bracket the steps so far give: the lowest rate that failed, and the highest that held below it. */
export function bracket(steps: Step[]): { held: number | null; failed: number | null } {
  const fails = steps.filter((s) => !s.holds).map((s) => s.rate);
  const failed = fails.length ? Math.min(...fails) : null;
  // A rate that held above one that failed (noise on a shared machine) does not raise the result.
  const helds = steps.filter((s) => s.holds && (failed === null || s.rate < failed)).map((s) => s.rate);
  return { held: helds.length ? Math.max(...helds) : null, failed };
}

/** The next rate to try, or the end of the search with the rate found (null: none held). */
export function nextRate(steps: Step[], o: SearchOptions = DEFAULT_SEARCH): Next {
  if (steps.length === 0) return { rate: round(Math.min(Math.max(o.start, o.min), o.max)) };
  const { held, failed } = bracket(steps);
  const done = (reason: string): Next => ({ done: true, found: held, reason });
  let next: number;
  if (failed === null) {
    if ((held as number) >= o.max) return done(`held at the highest rate allowed (${o.max}/s)`);
    next = Math.min((held as number) * 2, o.max);
  } else if (held === null) {
    if (failed <= o.min) return done(`failed at the lowest rate allowed (${o.min}/s)`);
    next = Math.max(failed / 2, o.min);
  } else {
    if ((failed - held) / held <= o.precision) return done(`bracketed within ${Math.round(o.precision * 100)} %: held at ${held}/s, failed at ${failed}/s`);
    next = (held + failed) / 2;
  }
  next = round(next);
  if (steps.length >= o.maxSteps) return done(`step limit (${o.maxSteps}) reached`);
  if (steps.some((s) => s.rate === next)) return done(`no new rate to try between ${held}/s and ${failed}/s`);
  return { rate: next };
}

/** The steps a search makes at most, for a duration estimate: doubling from start to max, then bisecting to the precision. */
export function maxStepsOf(o: SearchOptions = DEFAULT_SEARCH): number {
  const doublings = Math.ceil(Math.log2(o.max / o.start)) + 1;
  // Bisecting a bracket [r, 2r] to within p of r takes ceil(log2(1 / p)) steps.
  return Math.min(o.maxSteps, doublings + Math.ceil(Math.log2(1 / o.precision)));
}
