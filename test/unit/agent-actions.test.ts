/**
 * The control API's use cases with in-memory ports: the keys' rules, and what is done (or not)
 * on the channel. The HTTP layer and the real Asterisk are covered by test/e2e/whole-call.test.ts.
 */
import { AgentActions } from '../../src/midcall/agent-actions';
import { createLogger } from '../../src/observability/logger';
import type { ConsentRecord, Ledger } from '../../src/ports/ledger';
import type { QueuedAction } from '../../src/ports/midcall';
import { testRecord } from '../support/records';

const NOW = new Date('2026-11-30T10:00:00.000Z');
const UID = '1796032800.5';
const CHANNEL = 'PJSIP/trunk-0000002a';

const record = (over: Partial<ConsentRecord> = {}): ConsentRecord => testRecord({ uniqueId: UID, ...over });

function setup(opts: { stored?: ConsentRecord | null; channelUp?: boolean; vars?: Record<string, string>; carryOut?: 'stored' | 'retry' } = {}) {
  const vars: Record<string, string> = { CONSENT_MIXMONITOR_ID: '0x7f', ...opts.vars };
  const done: string[] = [];
  const queued: QueuedAction[] = [];
  const ledger: Pick<Ledger, 'find'> = { find: async () => (opts.stored === undefined ? record() : opts.stored) };
  const actions = new AgentActions(
    {
      ledger: ledger as Ledger,
      channels: { nameOf: async () => (opts.channelUp === false ? null : CHANNEL) },
      variables: {
        get: async (_c, name) => vars[name] ?? '',
        set: async (_c, v) => {
          Object.assign(vars, v);
          done.push(`set ${Object.keys(v).join(',')}`);
        },
      },
      recorder: {
        start: async () => ({ mixMonitorId: 'x' }),
        stop: async (_c, id) => {
          done.push(`stop ${id}`);
        },
        mute: async () => undefined,
      },
      inbox: {
        carryOut: async (item) => {
          done.push(`carry ${item.kind}`);
          return opts.carryOut ?? 'stored';
        },
      },
      queue: {
        put: async (item) => {
          queued.push(item);
        },
        remove: async (item) => {
          queued.splice(queued.indexOf(item), 1);
        },
      },
      clock: { now: () => NOW, setTimeout: () => ({ cancel: () => undefined }) },
    },
    createLogger({ level: 'error', format: 'json' }),
  );
  return { actions, done, queued, vars };
}

describe('AgentActions', () => {
  test('When a recorded call is withdrawn, then the recording stops first, the channel is marked, and the withdrawal is stored by the agent', async () => {
    const t = setup();
    expect(await t.actions.withdraw(UID)).toMatchObject({ status: 200 });
    expect(t.done).toEqual(['stop 0x7f', 'set CONSENT_WITHDRAWN', 'carry withdrawal']);
    expect(t.queued).toEqual([]);
  });

  test('When the withdrawal cannot be stored now, then it stays queued and the answer says so (202)', async () => {
    const t = setup({ carryOut: 'retry' });
    const a = await t.actions.withdraw(UID);
    expect(a).toMatchObject({ status: 202, body: { recorded: false } });
    expect(t.queued).toMatchObject([{ kind: 'withdrawal', by: 'agent', uniqueId: UID }]);
  });

  test.each([
    ['refused', record({ outcome: 'refused', recording: null })],
    ['no-input', record({ outcome: 'no-input', recording: null })],
  ])('When the call was %s, then withdraw, pause and resume are refused (409) and nothing is done', async (_name, stored) => {
    const t = setup({ stored });
    expect((await t.actions.withdraw(UID)).status).toBe(409);
    expect((await t.actions.pause(UID, true)).status).toBe(409);
    expect((await t.actions.pause(UID, false)).status).toBe(409);
    expect(t.done).toEqual([]);
  });

  test('When consent was withdrawn, then nothing resumes the recording, and a second withdrawal changes nothing', async () => {
    const t = setup({ stored: record({ withdrawal: { at: NOW.toISOString(), by: 'caller', recording: 'deleted' }, recording: null }) });
    expect((await t.actions.pause(UID, false)).status).toBe(409);
    expect(await t.actions.withdraw(UID)).toMatchObject({ status: 200, body: { recorded: false } });
    expect(t.done).toEqual([]);
  });

  test('When the dialplan stopped the recording (a late pause), then it cannot be paused or resumed', async () => {
    const t = setup({ vars: { CONSENT_STOPPED: '1796032700' } });
    expect(await t.actions.pause(UID, false)).toMatchObject({ status: 409 });
  });

  test('Pause then resume toggle the channel\'s CONSENT_PAUSED; pausing twice is refused', async () => {
    const t = setup();
    expect(await t.actions.pause(UID, true)).toMatchObject({ status: 200, body: { paused: true } });
    expect(t.vars.CONSENT_PAUSED).not.toBe('');
    expect(await t.actions.pause(UID, true)).toMatchObject({ status: 409, body: { error: 'already paused' } });
    expect(await t.actions.pause(UID, false)).toMatchObject({ status: 200, body: { paused: false } });
    expect(t.vars.CONSENT_PAUSED).toBe('');
  });

  test('When the call has ended, then actions answer 410 and the status says the call is down; an unknown call is 404', async () => {
    const t = setup({ channelUp: false });
    expect((await t.actions.withdraw(UID)).status).toBe(410);
    expect((await t.actions.pause(UID, true)).status).toBe(410);
    expect(await t.actions.status(UID)).toMatchObject({ status: 200, body: { callUp: false, recorded: true } });
    expect((await setup({ stored: null }).actions.status(UID)).status).toBe(404);
  });
});
