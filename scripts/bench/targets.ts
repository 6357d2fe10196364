/**
 * The targets of issue 26, judged from the per-flow summaries of one run. Pure: no I/O, no clock (unit
 * tested in test/unit/bench-targets.test.ts); the benchmark builds the summaries (report.ts) and its
 * exit code follows the verdicts.
 *
 *   1. CPU per call of consent-ivr ≤ 1.25 × the Node floor's, measured in the same run.
 *   2. 400 at once, default shape: key → MixMonitorStart p99 ≤ the Node floor's p99 + 25 ms; entry →
 *      first prompt p99 ≤ the Node floor's; key → hand-back p99 ≤ the confirmation prompt's length +
 *      500 ms; every call decided, none stuck, none lost, no journal fallback.
 *   3. Capacity (sustained arrival): the highest rate at which entry → first prompt p99 ≤ 500 ms and
 *      key → recording p99 ≤ 100 ms hold, per flow; consent-ivr's ≥ 0.9 × the Node floor's.
 *
 * A target whose flows were not run is "n/a", never a failure; a target whose flows ran but gave no
 * measurement fails (nothing shows it was met).
 */
import type { FloorSteps } from './options';

export type FlowName = 'app' | 'baseline' | 'node';

/** What the targets read of one flow's phase. p99s in ms; null when no call had both events. */
export interface FlowSummary {
  flow: FlowName;
  /** The Node floor's shape (--floor-steps): issue 26's targets are against the minimal one. */
  floorSteps?: FloorSteps | null;
  calls: number;
  /** CPU seconds of the flow's Node process over the phase (consent-ivr, the Node floor); null for the dialplan floor. */
  serviceCpuSeconds: number | null;
  p99: { keyToRecording: number | null; entryToPrompt: number | null; keyToHandBack: number | null; handBackOverConfirmation: number | null };
  /** The confirmation prompt's length (ms) per language the calls were confirmed in. */
  confirmationMs: Record<string, number | null>;
  decided: { expected: number; seen: number };
  originateFailures: number;
  unfinished: number;
  /** Channels left in Asterisk, and in the Stasis application (null: could not be read). */
  stuckChannels: number;
  stasisChannels: number | null;
  /** Calls whose routine never returned (held until the caller hung up). */
  held: number;
  /** consent-ivr only: final ledger records, writes through the local journal, journal backlog. */
  ledger: { expected: number; complete: number } | null;
  journalWrites: number | null;
  journalBacklog: number | null;
}

export type Status = 'ok' | 'fail' | 'n/a';

export interface Verdict {
  /** The item: 1, 2 or 3. */
  item: 1 | 2 | 3;
  name: string;
  status: Status;
  detail: string;
}

/** The bounds of item 3, for every flow. */
export const RATE_BOUNDS = { entryToPromptMs: 500, keyToRecordingMs: 100 } as const;
export type RateBounds = { entryToPromptMs: number; keyToRecordingMs: number };

const CPU_RATIO = 1.25;
const RECORDING_MARGIN_MS = 25;
const HAND_BACK_MARGIN_MS = 500;
export const CAPACITY_RATIO = 0.9;

/** A run against the Node floor with the product's steps measures the product's cost, not issue 26's targets. */
const AGAINST_PRODUCT = "against the Node floor with the product's steps (--floor-steps product; the targets are against the minimal one)";

const num = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const status = (met: boolean | null): Status => (met === true ? 'ok' : 'fail');

/** CPU per call (ms) of a flow's Node process, or null. */
export function cpuPerCallMs(s: FlowSummary): number | null {
  return s.serviceCpuSeconds === null || s.calls === 0 ? null : (s.serviceCpuSeconds * 1000) / s.calls;
}

/** Item 1: consent-ivr's CPU per call against the Node floor's, in the same run. */
export function cpuTarget(flows: FlowSummary[]): Verdict {
  const app = flows.find((f) => f.flow === 'app');
  const node = flows.find((f) => f.flow === 'node');
  const name = `CPU per call of consent-ivr ≤ ${CPU_RATIO} × the Node floor's`;
  if (!app || !node) return { item: 1, name, status: 'n/a', detail: 'needs the flows app and node in the same run' };
  const [a, n] = [cpuPerCallMs(app), cpuPerCallMs(node)];
  const ratio = a !== null && n !== null && n > 0 ? a / n : null;
  const detail = `${num(a, 2)} ms vs ${num(n, 2)} ms per call: ${num(ratio, 2)}×`;
  if (node.floorSteps === 'product') return { item: 1, name, status: 'n/a', detail: `${AGAINST_PRODUCT}: ${detail}` };
  return { item: 1, name, status: status(ratio === null ? null : ratio <= CPU_RATIO), detail };
}

/** Item 2's two latencies of consent-ivr measured against the Node floor's in the same run. */
function relativeLatencyTargets(app: FlowSummary | undefined, node: FlowSummary | undefined): Verdict[] {
  const rec = `key → MixMonitorStart p99 of consent-ivr ≤ the Node floor's + ${RECORDING_MARGIN_MS} ms`;
  const prompt = "entry → first prompt p99 of consent-ivr ≤ the Node floor's";
  if (!app || !node) return [rec, prompt].map((name) => ({ item: 2 as const, name, status: 'n/a' as const, detail: 'needs the flows app and node in the same run' }));
  const [ar, nr, ap, np] = [app.p99.keyToRecording, node.p99.keyToRecording, app.p99.entryToPrompt, node.p99.entryToPrompt];
  if (node.floorSteps === 'product') {
    return [
      { item: 2, name: rec, status: 'n/a', detail: `${AGAINST_PRODUCT}: ${num(ar)} ms vs ${num(nr)} ms` },
      { item: 2, name: prompt, status: 'n/a', detail: `${AGAINST_PRODUCT}: ${num(ap)} ms vs ${num(np)} ms` },
    ];
  }
  return [
    { item: 2, name: rec, status: status(ar === null || nr === null ? null : ar <= nr + RECORDING_MARGIN_MS), detail: `${num(ar)} ms vs ${num(nr)} + ${RECORDING_MARGIN_MS} ms` },
    { item: 2, name: prompt, status: status(ap === null || np === null ? null : ap <= np), detail: `${num(ap)} ms vs ${num(np)} ms` },
  ];
}

/** The confirmation lengths, for the detail of a line: "ar 5478 ms, fr 5168 ms". */
const lengths = (c: Record<string, number | null>): string =>
  Object.entries(c)
    .map(([l, ms]) => `${l} ${num(ms, 0)} ms`)
    .join(', ') || 'none known';

/**
 * Item 2's hand-back bound: per call, key → hand-back less its confirmation's length; the p99 of that ≤ 500 ms.
 * The dialplan floor's same figure in the run, when it ran, follows in the detail: the floor plays the same
 * confirmation after its MixMonitor, so it shows what the machine allows (no Stasis application does better).
 */
export function handBackTarget(app: FlowSummary | undefined, baseline?: FlowSummary): Verdict {
  const name = `key → hand-back p99 of consent-ivr ≤ the confirmation prompt's length + ${HAND_BACK_MARGIN_MS} ms`;
  if (!app) return { item: 2, name, status: 'n/a', detail: 'needs the flow app' };
  const over = app.p99.handBackOverConfirmation;
  return {
    item: 2,
    name,
    status: status(over === null ? null : over <= HAND_BACK_MARGIN_MS),
    detail:
      `p99 ${num(app.p99.keyToHandBack)} ms; less the call's confirmation (${lengths(app.confirmationMs)}): p99 ${num(over)} ms` +
      (baseline ? `; the dialplan floor's in this run: p99 ${num(baseline.p99.handBackOverConfirmation)} ms` : ''),
  };
}

/** Every call decided, none stuck, none lost: the checks of one flow as one verdict (with no journal fallback for consent-ivr). */
export function completeTarget(s: FlowSummary, item: 2 | 3, withJournal: boolean): Verdict {
  const problems: string[] = [];
  if (s.decided.seen !== s.decided.expected) problems.push(`${s.decided.expected - s.decided.seen} of ${s.decided.expected} undecided`);
  if (s.originateFailures > 0) problems.push(`${s.originateFailures} originate failures`);
  if (s.unfinished > 0) problems.push(`${s.unfinished} unfinished`);
  if (s.stuckChannels > 0 || (s.stasisChannels ?? 0) > 0 || s.held > 0) problems.push(`stuck: ${s.stuckChannels} channels in Asterisk, ${s.stasisChannels ?? '?'} in Stasis, ${s.held} never returned`);
  if (s.ledger && s.ledger.complete !== s.ledger.expected) problems.push(`${s.ledger.expected - s.ledger.complete} of ${s.ledger.expected} ledger records not final`);
  if (s.ledger && (s.journalBacklog ?? 0) > 0) problems.push(`journal backlog ${s.journalBacklog}`);
  if (withJournal && s.flow === 'app' && s.journalWrites !== 0) problems.push(`${s.journalWrites ?? '?'} writes through the journal`);
  const what = withJournal && s.flow === 'app' ? 'every call decided, none stuck, none lost, no journal fallback' : 'every call decided, none stuck, none lost';
  return { item, name: `${s.flow}: ${what}`, status: problems.length === 0 ? 'ok' : 'fail', detail: problems.length === 0 ? `${s.decided.seen}/${s.decided.expected} decided` : problems.join('; ') };
}

/** Items 1 and 2, for a burst (400 at once, default shape). */
export function burstTargets(flows: FlowSummary[]): Verdict[] {
  const app = flows.find((f) => f.flow === 'app');
  const node = flows.find((f) => f.flow === 'node');
  const complete = app ? completeTarget(app, 2, true) : { item: 2 as const, name: 'app: every call decided, none stuck, none lost, no journal fallback', status: 'n/a' as const, detail: 'needs the flow app' };
  return [cpuTarget(flows), ...relativeLatencyTargets(app, node), handBackTarget(app, flows.find((f) => f.flow === 'baseline')), complete];
}

/** Whether one flow held item 3's bounds at a rate: both p99s within them, and every call decided, none stuck, none lost. */
export function rateHolds(s: FlowSummary, bounds: RateBounds = RATE_BOUNDS): { holds: boolean; detail: string } {
  const { entryToPrompt: p, keyToRecording: r } = s.p99;
  const complete = completeTarget(s, 3, false);
  const holds = p !== null && r !== null && p <= bounds.entryToPromptMs && r <= bounds.keyToRecordingMs && complete.status === 'ok';
  const detail = `entry → first prompt p99 ${num(p)} ms (≤ ${bounds.entryToPromptMs}), key → recording p99 ${num(r)} ms (≤ ${bounds.keyToRecordingMs}); ${complete.detail}`;
  return { holds, detail };
}

/** `--rate R`: item 3's bounds at that rate, per flow, and item 1 when consent-ivr and the Node floor both ran. */
export function rateTargets(flows: FlowSummary[], perSecond: number, bounds: RateBounds = RATE_BOUNDS): Verdict[] {
  const at = flows.map((s): Verdict => {
    const h = rateHolds(s, bounds);
    return { item: 3, name: `${s.flow}: the bounds hold at ${num(perSecond, 2)} calls/s`, status: h.holds ? 'ok' : 'fail', detail: h.detail };
  });
  return [cpuTarget(flows), ...at];
}

/** `--capacity`: each flow's highest rate found, and consent-ivr's against the Node floor's. */
export function capacityTargets(found: Partial<Record<FlowName, number | null>>): Verdict[] {
  const out: Verdict[] = (Object.entries(found) as [FlowName, number | null][]).map(([flow, r]) => ({
    item: 3,
    name: `${flow}: a rate at which the bounds hold`,
    status: r === null ? 'fail' : 'ok',
    detail: r === null ? 'none found: the lowest rate tried failed' : `${num(r, 2)} calls/s`,
  }));
  const name = `capacity of consent-ivr ≥ ${CAPACITY_RATIO} × the Node floor's`;
  if (!('app' in found) || !('node' in found)) return [...out, { item: 3, name, status: 'n/a', detail: 'needs the flows app and node' }];
  const [a, n] = [found.app ?? null, found.node ?? null];
  const ratio = a !== null && n !== null && n > 0 ? a / n : null;
  return [...out, { item: 3, name, status: status(ratio === null ? null : ratio >= CAPACITY_RATIO), detail: `${num(a, 2)} vs ${num(n, 2)} calls/s: ${num(ratio, 3)}×` }];
}

/** One printed line: `  [ ok] name: detail`, `[FAIL]` or `[n/a]`. */
export function verdictLine(v: Verdict): string {
  const mark = v.status === 'ok' ? ' ok' : v.status === 'fail' ? 'FAIL' : 'n/a';
  return `  [${mark}] (${v.item}) ${v.name}: ${v.detail}`;
}

/** Whether every verdict that applies was met (n/a ones do not count). */
export const allMet = (vs: Verdict[]): boolean => vs.every((v) => v.status !== 'fail');
