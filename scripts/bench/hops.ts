/**
 * The accept path hop by hop, from a `--experiment trace-accept` run: the service's own times of
 * each call (the key reaching the runner, the decision's ledger write, the MixMonitor action; see
 * experiments/preload.ts) joined with Asterisk's timestamps of the same call (DTMFEnd,
 * MixMonitorStart). One machine, one clock.
 */
import { summarise, type Summary } from './stats';

export interface AcceptTrace {
  digit?: number;
  write0?: number;
  write1?: number;
  ami0?: number;
  ami1?: number;
}

export interface HopCall {
  uniqueId: string | null;
  dtmfEnd: number | null;
  recStart: number | null;
}

export const HOPS = [
  ['keyToRunner', 'DTMFEnd → the key reaches the runner (ARI event, event loop)'],
  ['runnerToWrite', 'runner → ledger write starts'],
  ['ledgerWrite', 'ledger write (Redis script, durable)'],
  ['storedToAction', 'stored → MixMonitor action sent'],
  ['actionToStart', 'action sent → MixMonitorStart (Asterisk)'],
  ['total', 'DTMF → MixMonitorStart'],
  ['startToAnswer', '(after it) MixMonitorStart → AMI answer read'],
] as const;

export type HopName = (typeof HOPS)[number][0];

export function acceptHops(calls: HopCall[], trace: Record<string, AcceptTrace>): Record<HopName, Summary> {
  const v: Record<HopName, number[]> = { keyToRunner: [], runnerToWrite: [], ledgerWrite: [], storedToAction: [], actionToStart: [], total: [], startToAnswer: [] };
  for (const c of calls) {
    const t = c.uniqueId === null ? undefined : trace[c.uniqueId];
    if (!t || c.dtmfEnd === null || c.recStart === null) continue;
    const { digit, write0, write1, ami0, ami1 } = t;
    if (digit === undefined || write0 === undefined || write1 === undefined || ami0 === undefined || ami1 === undefined) continue;
    v.keyToRunner.push(digit - c.dtmfEnd);
    v.runnerToWrite.push(write0 - digit);
    v.ledgerWrite.push(write1 - write0);
    v.storedToAction.push(ami0 - write1);
    v.actionToStart.push(c.recStart - ami0);
    v.total.push(c.recStart - c.dtmfEnd);
    v.startToAnswer.push(ami1 - c.recStart);
  }
  return Object.fromEntries(Object.entries(v).map(([k, xs]) => [k, summarise(xs)])) as Record<HopName, Summary>;
}
