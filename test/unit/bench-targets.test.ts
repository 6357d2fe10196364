/**
 * The benchmark's targets of issue 26 (scripts/bench/targets.ts) and its capacity search
 * (scripts/bench/capacity.ts): pure functions of the per-flow summaries and of the steps so far.
 */
import { bracket, DEFAULT_SEARCH, maxStepsOf, nextRate, type SearchOptions, type Step } from '../../scripts/bench/capacity';
import { allMet, burstTargets, capacityTargets, completeTarget, cpuTarget, handBackTarget, rateHolds, rateTargets, verdictLine, type FlowName, type FlowSummary, type Verdict } from '../../scripts/bench/targets';

/** A flow that met everything: 400 calls, 1 CPU s, quick latencies, nothing left behind. */
function flow(name: FlowName, over: Partial<FlowSummary> = {}, p99: Partial<FlowSummary['p99']> = {}): FlowSummary {
  return {
    flow: name,
    calls: 400,
    serviceCpuSeconds: name === 'baseline' ? null : 1,
    p99: { keyToRecording: 50, entryToPrompt: 400, keyToHandBack: 5800, handBackOverConfirmation: 320, ...p99 },
    confirmationMs: { ar: 5478 },
    decided: { expected: 400, seen: 400 },
    originateFailures: 0,
    unfinished: 0,
    stuckChannels: 0,
    stasisChannels: name === 'baseline' ? null : 0,
    held: 0,
    ledger: name === 'app' ? { expected: 400, complete: 400 } : null,
    journalWrites: name === 'app' ? 0 : null,
    journalBacklog: name === 'app' ? 0 : null,
    ...over,
  };
}

const byName = (vs: Verdict[], part: string): Verdict => {
  const v = vs.find((x) => x.name.includes(part));
  if (!v) throw new Error(`no verdict named like ${part}: ${vs.map((x) => x.name).join(' | ')}`);
  return v;
};

describe('item 1: CPU per call against the Node floor', () => {
  it('is met at 1.25 × and missed above it', () => {
    expect(cpuTarget([flow('app', { serviceCpuSeconds: 1.25 }), flow('node')]).status).toBe('ok');
    const missed = cpuTarget([flow('app', { serviceCpuSeconds: 1.26 }), flow('node')]);
    expect(missed.status).toBe('fail');
    expect(missed.detail).toContain('3.15 ms vs 2.50 ms per call: 1.26×');
  });

  it('compares CPU per call, not in total, when the flows placed different numbers of calls', () => {
    expect(cpuTarget([flow('app', { serviceCpuSeconds: 2, calls: 800 }), flow('node', { serviceCpuSeconds: 1, calls: 400 })]).status).toBe('ok');
  });

  it('is n/a without the Node floor or without consent-ivr, and fails without a measurement', () => {
    expect(cpuTarget([flow('app')]).status).toBe('n/a');
    expect(cpuTarget([flow('baseline'), flow('node')]).status).toBe('n/a');
    expect(cpuTarget([flow('app', { serviceCpuSeconds: null }), flow('node')]).status).toBe('fail');
  });

  it('against the Node floor with the product\'s steps, gives the ratio but no verdict: the targets are against the minimal floor', () => {
    const node = flow('node', { floorSteps: 'product' }, { keyToRecording: 500 });
    const [cpu, rec, prompt] = burstTargets([node, flow('app', { serviceCpuSeconds: 2 }, { keyToRecording: 900 })]);
    expect([cpu?.status, rec?.status, prompt?.status]).toEqual(['n/a', 'n/a', 'n/a']);
    expect(cpu?.detail).toContain("against the Node floor with the product's steps");
    expect(cpu?.detail).toContain('5.00 ms vs 2.50 ms per call: 2.00×');
    expect(rec?.detail).toContain('900.0 ms vs 500.0 ms');
    expect(cpuTarget([flow('app', { serviceCpuSeconds: 2 }), flow('node', { floorSteps: 'minimal' })]).status).toBe('fail');
  });
});

describe('item 2: 400 at once', () => {
  const all = (app: FlowSummary, node: FlowSummary = flow('node')) => burstTargets([flow('baseline'), node, app]);

  it('is met when consent-ivr is within every bound', () => {
    const vs = all(flow('app', {}, { keyToRecording: 75 }), flow('node', {}, { keyToRecording: 50 }));
    expect(vs.map((v) => [v.item, v.status])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [2, 'ok'],
      [2, 'ok'],
      [2, 'ok'],
    ]);
    expect(allMet(vs)).toBe(true);
  });

  it('key → MixMonitorStart: up to the Node floor p99 + 25 ms', () => {
    expect(byName(all(flow('app', {}, { keyToRecording: 75.1 }), flow('node', {}, { keyToRecording: 50 })), 'MixMonitorStart').status).toBe('fail');
    expect(byName(all(flow('app', {}, { keyToRecording: null })), 'MixMonitorStart').status).toBe('fail');
  });

  it('entry → first prompt: no later than the Node floor', () => {
    expect(byName(all(flow('app', {}, { entryToPrompt: 400 }), flow('node', {}, { entryToPrompt: 400 })), 'entry → first prompt').status).toBe('ok');
    expect(byName(all(flow('app', {}, { entryToPrompt: 401 }), flow('node', {}, { entryToPrompt: 400 })), 'entry → first prompt').status).toBe('fail');
  });

  it('key → hand-back: the p99 of each call less its confirmation prompt, up to 500 ms', () => {
    expect(handBackTarget(flow('app', {}, { handBackOverConfirmation: 500 })).status).toBe('ok');
    const late = handBackTarget(flow('app', { confirmationMs: { ar: 5478, fr: 5168 } }, { keyToHandBack: 6100, handBackOverConfirmation: 622 }));
    expect(late.status).toBe('fail');
    expect(late.detail).toBe('p99 6100.0 ms; less the call\'s confirmation (ar 5478 ms, fr 5168 ms): p99 622.0 ms');
    // The dialplan floor's figure of the same run follows; the bound stays the written one.
    const both = handBackTarget(flow('app', { confirmationMs: { ar: 5478 } }, { keyToHandBack: 6100, handBackOverConfirmation: 622 }), flow('baseline', {}, { handBackOverConfirmation: 630 }));
    expect(both.status).toBe('fail');
    expect(both.detail).toBe('p99 6100.0 ms; less the call\'s confirmation (ar 5478 ms): p99 622.0 ms; the dialplan floor\'s in this run: p99 630.0 ms');
    // No prompt length known (the sandbox has none built): nothing shows the bound was met.
    expect(handBackTarget(flow('app', { confirmationMs: { ar: null } }, { handBackOverConfirmation: null })).status).toBe('fail');
  });

  it('every call decided, none stuck, none lost, no journal fallback', () => {
    const cases: Partial<FlowSummary>[] = [
      { decided: { expected: 400, seen: 399 } },
      { originateFailures: 1 },
      { unfinished: 1 },
      { stuckChannels: 1 },
      { stasisChannels: 2 },
      { held: 1 },
      { ledger: { expected: 400, complete: 398 } },
      { journalWrites: 3 },
      { journalWrites: null },
      { journalBacklog: 1 },
    ];
    for (const c of cases) expect([c, completeTarget(flow('app', c), 2, true).status]).toEqual([c, 'fail']);
    expect(completeTarget(flow('app'), 2, true)).toMatchObject({ status: 'ok', detail: '400/400 decided' });
    expect(completeTarget(flow('app', { journalWrites: 3, ledger: { expected: 400, complete: 398 } }), 2, true).detail).toBe('2 of 400 ledger records not final; 3 writes through the journal');
  });

  it('with consent-ivr alone the relative targets are n/a, the absolute ones still judged', () => {
    const vs = burstTargets([flow('app', {}, { handBackOverConfirmation: 900 })]);
    expect(vs.map((v) => v.status)).toEqual(['n/a', 'n/a', 'n/a', 'fail', 'ok']);
    expect(allMet(vs)).toBe(false);
    expect(allMet(burstTargets([flow('app')]))).toBe(true);
  });

  it('without consent-ivr every target of item 2 is n/a', () => {
    const vs = burstTargets([flow('baseline'), flow('node')]);
    expect(vs.every((v) => v.status === 'n/a')).toBe(true);
    expect(allMet(vs)).toBe(true);
  });

  it('prints [ ok], [FAIL] and [n/a] lines', () => {
    const [cpu, rec] = burstTargets([flow('app', { serviceCpuSeconds: 3 }), flow('node')]);
    expect(verdictLine(cpu as Verdict)).toBe("  [FAIL] (1) CPU per call of consent-ivr ≤ 1.25 × the Node floor's: 7.50 ms vs 2.50 ms per call: 3.00×");
    expect(verdictLine(rec as Verdict)).toMatch(/^ {2}\[ ok\] \(2\) key → MixMonitorStart p99/);
    expect(verdictLine(burstTargets([flow('app')])[0] as Verdict)).toMatch(/^ {2}\[n\/a\] \(1\)/);
  });
});

describe('item 3: a sustained rate', () => {
  it('holds when both p99s are within 500 ms and 100 ms and every call is decided', () => {
    expect(rateHolds(flow('node', {}, { entryToPrompt: 500, keyToRecording: 100 })).holds).toBe(true);
    expect(rateHolds(flow('node', {}, { entryToPrompt: 501 })).holds).toBe(false);
    expect(rateHolds(flow('node', {}, { keyToRecording: 100.5 })).holds).toBe(false);
    expect(rateHolds(flow('node', {}, { keyToRecording: null })).holds).toBe(false);
    // Calls that failed have no latency: a good p99 over the rest does not hold.
    expect(rateHolds(flow('app', { decided: { expected: 400, seen: 300 } })).holds).toBe(false);
    // Journal writes are reported, not a condition of a rate.
    expect(rateHolds(flow('app', { journalWrites: 12 })).holds).toBe(true);
  });

  it('--rate: one verdict per flow, and item 1 when consent-ivr and the Node floor ran', () => {
    const vs = rateTargets([flow('baseline'), flow('node'), flow('app', {}, { keyToRecording: 180 })], 8);
    expect(vs.map((v) => [v.name, v.status])).toEqual([
      ["CPU per call of consent-ivr ≤ 1.25 × the Node floor's", 'ok'],
      ['baseline: the bounds hold at 8.00 calls/s', 'ok'],
      ['node: the bounds hold at 8.00 calls/s', 'ok'],
      ['app: the bounds hold at 8.00 calls/s', 'fail'],
    ]);
    expect(rateTargets([flow('app')], 8)[0]?.status).toBe('n/a');
  });

  it('--capacity: a rate found per flow, consent-ivr at 0.9 × the Node floor at least', () => {
    expect(capacityTargets({ baseline: 60, node: 20, app: 18 }).map((v) => v.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const low = capacityTargets({ node: 20, app: 17.9 });
    expect(low[2]).toMatchObject({ status: 'fail', detail: '17.90 vs 20.00 calls/s: 0.895×' });
    expect(capacityTargets({ node: 20, app: null }).map((v) => v.status)).toEqual(['ok', 'fail', 'fail']);
    expect(capacityTargets({ app: 10 }).map((v) => v.status)).toEqual(['ok', 'n/a']);
  });
});

describe('the capacity search', () => {
  /** Runs the search against a machine whose capacity is `limit` calls/s; returns the rates tried and the end. */
  function search(limit: number, o: SearchOptions = DEFAULT_SEARCH) {
    const steps: Step[] = [];
    for (;;) {
      const n = nextRate(steps, o);
      if ('done' in n) return { tried: steps.map((s) => s.rate), ...n };
      steps.push({ rate: n.rate, holds: n.rate <= limit });
    }
  }

  it('starts at 2/s, doubles until a rate fails, then bisects to within 10 %', () => {
    const r = search(27);
    expect(r.tried).toEqual([2, 4, 8, 16, 32, 24, 28, 26]);
    expect(r.found).toBe(26);
    expect(r.reason).toContain('within 10 %');
    expect(r.tried.length).toBeLessThanOrEqual(maxStepsOf());
  });

  it('finds a rate within 10 % below the capacity, for any capacity in range', () => {
    for (const limit of [2, 2.5, 3, 5, 7.3, 11, 15.9, 16, 40, 63]) {
      const r = search(limit);
      expect([limit, r.found !== null && r.found <= limit && r.found >= limit / 1.1]).toEqual([limit, true]);
      expect(r.tried.length).toBeLessThanOrEqual(DEFAULT_SEARCH.maxSteps);
    }
  });

  it('halves below the start when the start already fails, and finds nothing below the minimum', () => {
    expect(search(1.2).tried.slice(0, 2)).toEqual([2, 1]);
    expect(search(1.2).found).toBeGreaterThanOrEqual(1.2 / 1.1);
    const none = search(0.1);
    expect(none.found).toBeNull();
    expect(none.tried).toEqual([2, 1, 0.5, 0.25]);
    expect(none.reason).toContain('lowest rate');
  });

  it('stops at the maximum when everything holds', () => {
    const r = search(1000, { ...DEFAULT_SEARCH, max: 20 });
    expect(r.tried).toEqual([2, 4, 8, 16, 20]);
    expect(r).toMatchObject({ found: 20, reason: 'held at the highest rate allowed (20/s)' });
  });

  it('stops after maxSteps with the best rate so far', () => {
    const r = search(27, { ...DEFAULT_SEARCH, maxSteps: 6 });
    expect(r.tried).toEqual([2, 4, 8, 16, 32, 24]);
    expect(r).toMatchObject({ found: 24, reason: 'step limit (6) reached' });
  });

  it('a rate that held above one that failed (noise) does not raise the result', () => {
    const steps: Step[] = [
      { rate: 2, holds: true },
      { rate: 4, holds: true },
      { rate: 8, holds: false },
      { rate: 6, holds: false },
      { rate: 7, holds: true },
    ];
    expect(bracket(steps)).toEqual({ held: 4, failed: 6 });
    expect(nextRate(steps)).toEqual({ rate: 5 });
  });

  it('rates are tried to the hundredth, and never twice', () => {
    const o = { ...DEFAULT_SEARCH, precision: 0.0001 };
    const r = search(2.005, o);
    expect(new Set(r.tried).size).toBe(r.tried.length);
    expect(r.tried.every((x) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-9)).toBe(true);
  });
});
