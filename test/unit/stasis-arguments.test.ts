/**
 * What the routines pass to Stasis() (dialplans/consent-ivr.conf) and what the service takes from it.
 * Stasis() splits its data on commas after the dialplan expanded it: a dialled number with commas
 * must never make a call outbound, name an agent channel, or put its extra parts in the ledger.
 */
import { dialledNumber, routineArguments } from '../../src/adapters/ari/ari-adapter';

const inbound = { caller: { number: '+212611111111' }, dialplan: { context: 'consent-ivr', exten: 's' } };
const outbound = { caller: { number: '' }, dialplan: { context: 'consent-ivr-outbound', exten: 's' } };

describe('the routines\' Stasis arguments', () => {
  test('Inbound: the subject is the caller, the called number is the DID', () => {
    expect(routineArguments(['0522000000'], inbound)).toEqual({ direction: 'inbound', subjectNumber: '+212611111111', calledNumber: '0522000000', agentChannel: null, profile: null, extra: 0 });
  });

  test('Outbound: the subject is the dialled customer, never stored as the called number; the agent channel is kept', () => {
    expect(routineArguments(['trunk/0612345678', 'outbound', 'PJSIP/agent-0000002a'], outbound)).toEqual({
      direction: 'outbound',
      subjectNumber: '0612345678',
      calledNumber: '',
      agentChannel: 'PJSIP/agent-0000002a',
      profile: null,
      extra: 0,
    });
    expect(routineArguments(['0612345678@consent-test-customer', 'outbound', 'Local/s@consent-test-out-00000001;2'], outbound)).toMatchObject({
      direction: 'outbound',
      agentChannel: 'Local/s@consent-test-out-00000001;2',
    });
  });

  test('When a caller dials "0522…,outbound,<channel>" on a routine that does not filter, then the call is inbound, no agent channel is taken, and the called number is its first part', () => {
    const r = routineArguments(['0522123456', 'outbound', 'PJSIP/loopback-caller-0000000a'], inbound);
    expect(r).toEqual({ direction: 'inbound', subjectNumber: '+212611111111', calledNumber: '0522123456', agentChannel: null, profile: null, extra: 2 });
  });

  test('Outbound only from the outbound routine\'s context with exactly its three arguments', () => {
    expect(routineArguments(['0612', 'outbound', 'PJSIP/a-1'], { dialplan: { context: 'from-trunk', exten: '0612' } }).direction).toBe('inbound');
    expect(routineArguments(['0612', 'outbound'], outbound).direction).toBe('inbound');
    expect(routineArguments(['0612', 'outbound', 'PJSIP/a-1', 'x'], outbound).direction).toBe('inbound');
    expect(routineArguments(['0612', 'inbound', 'PJSIP/a-1'], outbound).direction).toBe('inbound');
    expect(routineArguments(['0612', 'outbound', 'PJSIP/a-1'], { dialplan: {} }).direction).toBe('inbound');
  });

  test('The campaign profile comes base64-encoded as profile:<…>, decoded exactly as the routine was given it; empty is none', () => {
    const b64 = (s: string) => `profile:${Buffer.from(s, 'utf8').toString('base64')}`;
    expect(routineArguments(['0522000000', b64('bank')], inbound)).toMatchObject({ direction: 'inbound', calledNumber: '0522000000', profile: 'bank', extra: 0 });
    expect(routineArguments(['0522000000', 'profile:'], inbound)).toMatchObject({ profile: null, extra: 0 });
    expect(routineArguments(['0612', 'outbound', 'PJSIP/a-1', b64('insurer')], outbound)).toMatchObject({ direction: 'outbound', agentChannel: 'PJSIP/a-1', profile: 'insurer' });
    // Whatever the argument held (commas, CR/LF, quotes) it is one Stasis argument and reads back as given, to be looked up by name.
    const odd = 'bank,outbound\r\nAction: Originate"';
    expect(routineArguments(['0522000000', b64(odd)], inbound)).toMatchObject({ direction: 'inbound', profile: odd, extra: 0 });
  });

  test('A profile argument that is not base64 of a short name names no configured profile (never the default); an argument without profile: is not one', () => {
    expect(routineArguments(['0522000000', 'profile:bank!'], inbound)).toMatchObject({ profile: 'profile:bank!', extra: 0 });
    expect(routineArguments(['0522000000', `profile:${'QUFB'.repeat(100)}`], inbound).profile).toMatch(/^profile:/);
    expect(routineArguments(['0522000000', 'bank'], inbound)).toMatchObject({ profile: null, extra: 1 });
    expect(routineArguments(['0612', 'outbound', 'PJSIP/a-1', 'bank'], outbound).direction).toBe('inbound');
  });

  test('An agent channel name outside Asterisk\'s characters is not taken', () => {
    for (const name of ['PJSIP/a-1\r\nAction: Originate', 'PJSIP/a b', '', 'x'.repeat(257)]) {
      expect(routineArguments(['0612', 'outbound', name], outbound)).toMatchObject({ direction: 'outbound', agentChannel: null });
    }
  });

  test.each([
    ['0522000000', '0522000000'],
    ['+212522000000', '+212522000000'],
    ['*9#', '*9#'],
    ['support.line_2-b', 'support.line_2-b'],
    ['0522,outbound', '0522'],
    ['05 22"()$[]{}\r\n;@/', '0522'],
    ['9'.repeat(100), '9'.repeat(64)],
  ])('The called number kept of %j is %j', (dialled, kept) => {
    expect(routineArguments([dialled], inbound).calledNumber).toBe(kept);
  });

  test.each([
    ['trunk/0612345678', '0612345678'],
    ['0612345678@trunk', '0612345678'],
    ['sip:+212612345678@carrier.example', '+212612345678'],
    ['0612345678', '0612345678'],
    ['', ''],
  ])('The number in the dial resource %j is %j', (resource, number) => {
    expect(dialledNumber(resource)).toBe(number);
  });
});
