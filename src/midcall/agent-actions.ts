/**
 * What an agent desktop or a CRM may do about a call through the control API, under the same rules
 * as the keys: read the consent state; withdraw on the caller's behalf (*9 by the agent); pause and
 * resume the recording (*8). Nothing here starts a recording the caller did not accept, and nothing
 * resumes one after a withdrawal. Each answer is a status code and a JSON body for the HTTP layer.
 */
import type { Logger } from '../observability/logger';
import type { Clock } from '../ports/clock';
import type { ConsentRecord, Ledger } from '../ports/ledger';
import type { ChannelVariables, LiveChannels, MidCallQueue } from '../ports/midcall';
import type { Recorder } from '../ports/recorder';
import type { MidCallInbox } from './inbox';
import { toStored } from '../ledger';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface AgentActionPorts {
  ledger: Ledger;
  channels: LiveChannels;
  variables: ChannelVariables;
  recorder: Recorder;
  inbox: Pick<MidCallInbox, 'carryOut'>;
  queue: Pick<MidCallQueue, 'put' | 'remove'>;
  clock: Clock;
}

/** What the API tells about a call: the consent state, no personal data. */
function state(r: ConsentRecord, live: { paused: boolean; up: boolean }): Record<string, unknown> {
  const recording = r.outcome === 'accepted' && r.recording?.file != null && r.withdrawal === null;
  const stored = toStored(r);
  return {
    uniqueId: r.uniqueId,
    direction: r.direction,
    outcome: r.outcome,
    language: r.language,
    decidedAt: r.decidedAt,
    recorded: recording,
    paused: recording && live.paused,
    withdrawnAt: stored.withdrawnAt,
    withdrawnBy: stored.withdrawnBy,
    pauses: stored.pauses,
    callUp: live.up,
  };
}

const error = (status: number, message: string): Answer => ({ status, body: { error: message } });

export class AgentActions {
  constructor(
    private readonly ports: AgentActionPorts,
    private readonly log: Logger,
  ) {}

  private async load(uniqueId: string): Promise<{ record: ConsentRecord; channel: string | null; paused: boolean } | Answer> {
    const record = await this.ports.ledger.find(uniqueId);
    if (!record) return error(404, 'no consent record for this call');
    const channel = await this.ports.channels.nameOf(uniqueId);
    const paused = channel ? (await this.ports.variables.get(channel, 'CONSENT_PAUSED').catch(() => '')) !== '' : false;
    return { record, channel, paused };
  }

  async status(uniqueId: string): Promise<Answer> {
    const got = await this.load(uniqueId);
    if ('status' in got) return got;
    return { status: 200, body: state(got.record, { paused: got.paused, up: got.channel !== null }) };
  }

  async withdraw(uniqueId: string): Promise<Answer> {
    const got = await this.load(uniqueId);
    if ('status' in got) return got;
    const { record, channel } = got;
    if (record.withdrawal !== null) return { status: 200, body: state(record, { paused: false, up: channel !== null }) };
    if (record.outcome !== 'accepted' || !record.recording?.file) return error(409, 'this call is not recorded');
    if (!channel) return error(410, 'the call has ended: use `consent-ivr ledger erase` for its recording');
    const log = this.log.child({ call: uniqueId });
    const { variables, recorder } = this.ports;
    if ((await variables.get(channel, 'CONSENT_WITHDRAWN')) !== '') return error(409, 'already withdrawn; the ledger is being updated');
    // As the dialplan does for *9: stop first, mark the channel, then the ledger.
    await recorder.stop(channel, await variables.get(channel, 'CONSENT_MIXMONITOR_ID'));
    const at = this.ports.clock.now();
    await variables.set(channel, { CONSENT_WITHDRAWN: String(Math.floor(at.getTime() / 1000)) });
    // Queued first, as the dialplan does: if it cannot be stored now, the inbox stores it later.
    const item = { kind: 'withdrawal', key: uniqueId, uniqueId, at, by: 'agent' } as const;
    await this.ports.queue.put(item);
    const done = await this.ports.inbox.carryOut(item, record, log);
    if (done === 'retry') return { status: 202, body: { ...state(record, { paused: false, up: true }), recorded: false, pending: 'the recording is stopped; the withdrawal is queued for the ledger' } };
    await this.ports.queue.remove(item).catch((e: Error) => log.warn('withdrawal stored; its queue entry will be removed by the next pass', { error: e.message }));
    const after = (await this.ports.ledger.find(uniqueId)) ?? record;
    return { status: 200, body: state(after, { paused: false, up: true }) };
  }

  async pause(uniqueId: string, on: boolean): Promise<Answer> {
    const got = await this.load(uniqueId);
    if ('status' in got) return got;
    const { record, channel, paused } = got;
    if (record.withdrawal !== null) return error(409, 'consent was withdrawn: the recording cannot be paused or resumed');
    if (record.outcome !== 'accepted' || !record.recording?.file) return error(409, 'this call is not recorded');
    if (!channel) return error(410, 'the call has ended');
    const { variables } = this.ports;
    if ((await variables.get(channel, 'CONSENT_WITHDRAWN')) !== '' || (await variables.get(channel, 'CONSENT_STOPPED')) !== '') {
      return error(409, 'the recording was stopped: it cannot be paused or resumed');
    }
    if (on === paused) return error(409, on ? 'already paused' : 'not paused');
    const at = this.ports.clock.now();
    const done = await this.ports.inbox.carryOut({ kind: on ? 'pause' : 'resume', key: uniqueId, uniqueId, at, channel }, record, this.log.child({ call: uniqueId }));
    if (done === 'retry') return error(503, `the recording could not be ${on ? 'paused' : 'resumed'} now`);
    // The dialplan's *8 reads this to know which way to toggle.
    await variables.set(channel, { CONSENT_PAUSED: on ? String(Math.floor(at.getTime() / 1000)) : '' });
    const after = (await this.ports.ledger.find(uniqueId)) ?? record;
    return { status: 200, body: state(after, { paused: on, up: true }) };
  }
}
