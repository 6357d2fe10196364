/**
 * The call router (ConsentApp) with in-memory ports and a manual clock: which calls get a runner, where
 * events go, what shutdown and reconciliation do, and that its timings come from the clock.
 */
import { ConsentApp } from '../../src/call/consent-app';
import type { CallEvent, CallSource, IncomingCall } from '../../src/ports/call-control';
import type { CallObserver, DecisionOutcome } from '../../src/ports/observer';
import { capturedLog, fakeRunnerPorts, RUNNER_SETTINGS, testProfiles, testCall } from '../support/call-ports';
import { flush } from '../support/manual-clock';

/** Stands for ARI: the test emits StasisStart (a call) and the channel's events. */
class FakeSource implements CallSource {
  private calls: ((call: IncomingCall) => void)[] = [];
  private events: ((event: CallEvent) => void)[] = [];
  onCall(handler: (call: IncomingCall) => void): void {
    this.calls.push(handler);
  }
  onEvent(handler: (event: CallEvent) => void): void {
    this.events.push(handler);
  }
  start(call: IncomingCall): void {
    for (const h of this.calls) h(call);
  }
  emit(event: CallEvent): void {
    for (const h of this.events) h(event);
  }
}

const ID = testCall().channelId;

function setup() {
  const seen = { started: 0, decided: [] as [DecisionOutcome, number][], ended: [] as [string, number][] };
  const observer: CallObserver = {
    callStarted: () => (seen.started += 1),
    decided: (d, ms) => seen.decided.push([d, ms]),
    callEnded: (end, ms) => seen.ended.push([end.outcome, ms]),
  };
  const fakes = fakeRunnerPorts(observer);
  const source = new FakeSource();
  const { logger, lines } = capturedLog();
  const app = new ConsentApp(source, fakes.ports, { recording: RUNNER_SETTINGS.recording, serverId: RUNNER_SETTINGS.serverId }, testProfiles(), logger, () => 'c'.repeat(64));
  /** The id of the playback started last (the one the caller hears now). */
  const lastPlayback = () => fakes.calls.played[fakes.calls.played.length - 1]?.split(':')[0] ?? '';
  const extensions = () => fakes.calls.continued.map((t) => t?.extension);
  return { ...fakes, app, source, seen, lines, lastPlayback, extensions };
}

/** Resolves to true once `p` settled, false when it is still pending after the queued callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await flush();
  return done;
}

describe('consent app', () => {
  test('When a call enters Stasis, then a runner starts its flow and the observer is told', () => {
    const t = setup();
    t.source.start(testCall());
    expect(t.app.activeCalls).toBe(1);
    expect(t.app.has(ID)).toBe(true);
    expect(t.calls.played).toEqual([`${ID}-p1:ar:consent-ivr/notice`]);
    expect(t.seen.started).toBe(1);
  });

  test('When the same channel enters again, then the second start is ignored; another channel gets its own runner', () => {
    const t = setup();
    t.source.start(testCall());
    t.source.start(testCall());
    expect(t.app.activeCalls).toBe(1);
    expect(t.calls.played).toHaveLength(1);
    expect(t.seen.started).toBe(1);
    t.source.start(testCall({ channelId: '1732800000.50' }));
    expect(t.app.activeCalls).toBe(2);
    expect(t.seen.started).toBe(2);
  });

  test('When a playback finishes, then its event reaches the runner that started it; an unknown playback is ignored', () => {
    const t = setup();
    t.source.start(testCall());
    t.source.emit({ type: 'playback-finished', playbackId: 'someone-else-p1', ok: true });
    expect(t.calls.played).toHaveLength(1);
    t.source.emit({ type: 'playback-finished', playbackId: `${ID}-p1`, ok: true });
    expect(t.calls.played).toEqual([`${ID}-p1:ar:consent-ivr/notice`, `${ID}-p2:fr:consent-ivr/notice`]);
  });

  test('When the caller hangs up, then the runner ends abandoned, the channel is forgotten and its later events are ignored', async () => {
    const t = setup();
    t.source.start(testCall());
    t.source.emit({ type: 'hangup', channelId: ID });
    expect(t.app.activeCalls).toBe(0);
    expect(t.app.has(ID)).toBe(false);
    await flush();
    expect(t.seen.ended).toEqual([['abandoned', 0]]);
    expect(t.ledger.outcomes.map((r) => r.outcome)).toEqual(['abandoned']);
    t.source.emit({ type: 'digit', channelId: ID, digit: '1' });
    expect(t.ledger.decisions).toEqual([]);
    expect(t.calls.continued).toEqual([]);
  });

  test('When the channel leaves Stasis before its flow ended, then its runner stops acting on it and is forgotten', async () => {
    const t = setup();
    t.source.start(testCall());
    t.source.emit({ type: 'left-stasis', channelId: ID });
    expect(t.app.activeCalls).toBe(0);
    await flush();
    expect(t.seen.ended.map(([outcome]) => outcome)).toEqual(['abandoned']);
    expect(t.calls.continued).toEqual([]);
  });

  test('When the caller decides and the flow ends, then the decision and end times are measured on the clock from the entry', async () => {
    const t = setup();
    t.source.start(testCall());
    t.clock.advance(7000);
    t.source.emit({ type: 'digit', channelId: ID, digit: '2' });
    expect(t.seen.decided).toEqual([['refused', 7000]]);
    t.decisionStore.resolve('redis');
    await flush();
    expect(t.calls.played[t.calls.played.length - 1]).toBe(`${ID}-p2:ar:consent-ivr/refused`);
    t.clock.advance(2500);
    t.source.emit({ type: 'playback-finished', playbackId: t.lastPlayback(), ok: true });
    await flush();
    expect(t.seen.ended).toEqual([['refused', 9500]]);
    expect(t.extensions()).toEqual(['refused_ar_key-refuse_ar.fr_default']);
    expect(t.app.has(ID)).toBe(true); // until the channel leaves Stasis
    t.source.emit({ type: 'left-stasis', channelId: ID });
    expect(t.app.activeCalls).toBe(0);
  });

  test('When reconciling, then it waits for events to settle on the clock, hands back unknown channels, and skips those that just ended until the clock forgets them', async () => {
    const t = setup();
    t.source.start(testCall());
    t.source.emit({ type: 'hangup', channelId: ID });
    await flush();
    t.app.reconcile([ID, 'stray.1']);
    await flush();
    expect(t.calls.continued).toEqual([]);
    t.clock.advance(1000);
    await flush();
    expect(t.extensions()).toEqual(['error__recovered']);
    t.clock.advance(4000); // 5 s after the hang-up: the channel is no longer remembered as just ended
    t.app.reconcile([ID], 0);
    await flush();
    expect(t.extensions()).toEqual(['error__recovered', 'error__recovered']);
    expect(t.ledger.outcomes.map((r) => r.outcome)).toEqual(['abandoned', 'error']);
  });

  test('When shutting down, then new calls continue without the flow, and drain ends as soon as the calls in progress end within the grace time', async () => {
    const t = setup();
    t.source.start(testCall());
    const drained = t.app.drain(15000);
    t.source.start(testCall({ channelId: '1732800000.60' }));
    expect(t.app.activeCalls).toBe(1);
    await flush();
    expect(t.extensions()).toEqual(['unavailable__shutdown']);
    t.clock.advance(5000);
    expect(await settled(drained)).toBe(false);
    t.source.emit({ type: 'hangup', channelId: ID });
    expect(await settled(drained)).toBe(true);
    t.clock.advance(10000);
    await flush();
    expect(t.lines.join('')).not.toContain('grace period over');
  });

  test('When calls outlast the grace time, then they are ended unrecorded, and drain gives up waiting for them 3 s later', async () => {
    const t = setup();
    t.calls.continueInDialplan = () => new Promise(() => undefined); // the hand-back never completes
    t.source.start(testCall());
    const drained = t.app.drain(15000);
    t.clock.advance(14999);
    expect(await settled(drained)).toBe(false);
    expect(t.ledger.outcomes).toEqual([]);
    t.clock.advance(1);
    expect(await settled(drained)).toBe(false);
    expect(t.lines.join('')).toContain('grace period over');
    expect(t.ledger.outcomes.map((r) => r.outcome)).toEqual(['error']);
    t.clock.advance(2999);
    expect(await settled(drained)).toBe(false);
    t.clock.advance(1);
    expect(await settled(drained)).toBe(true);
  });
});
