/**
 * After the consent flow, over AMI: the withdrawals and pause requests the dialplan queued in AstDB
 * (dialplans/consent-ivr.conf, families consent-ivr-withdrawn/<app> and consent-ivr-pause/<app>),
 * and variables set on the agent's channel of an outbound call. Every value sent is checked here, whatever the caller passes.
 */
import { UNIQUE_ID } from '../domain/vocabulary';
import type { WithdrawnBy } from '../ports/ledger';
import type { ChannelVariables, MidCallQueue, MidCallQueueName, QueuedAction, QueuedPause, QueuedWithdrawal } from '../ports/midcall';
import type { AmiConnection } from '../adapters/ami/ami-connection';
import { AmiError } from '../adapters/ami/ami-connection';
import { SAFE_CHANNEL } from '../adapters/ami/recorder';

/** The AstDB families the dialplan's routines write to, each under the Stasis application's name. */
export const WITHDRAWAL_FAMILY = 'consent-ivr-withdrawn';
export const PAUSE_FAMILY = 'consent-ivr-pause';
/** Keys are UNIQUEIDs, with or without asterisk.conf's systemname (domain/vocabulary.ts). */
const KEY = UNIQUE_ID;
const TIME = '([0-9]{9,11}(?:\\.[0-9]{1,6})?)';
/** Withdrawal: "<epoch.ms>|<caller|agent>". Pause: "<epoch.ms>|<pause|resume>|<channel>". */
const WITHDRAWAL_VALUE = new RegExp(`^${TIME}\\|(caller|agent)$`);
const PAUSE_VALUE = new RegExp(`^${TIME}\\|(pause|resume)\\|(.+)$`);
const VARIABLE = /^[A-Z][A-Z0-9_]*$/;
/** Variable values the service sets: results, reasons, ids and server-made paths. */
const SAFE_VALUE = /^[A-Za-z0-9._\-/]*$/;

const epoch = (s: string) => new Date(Math.round(Number(s) * 1000));
const lastSegment = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/** Parses one AstDB entry of the withdrawal queue; null when it is not one the routine writes. */
export function parseQueued(key: string, value: string): QueuedWithdrawal | null {
  const k = lastSegment(key);
  const m = WITHDRAWAL_VALUE.exec(value);
  if (!KEY.test(k) || !m) return null;
  return { kind: 'withdrawal', key: k, uniqueId: k, at: epoch(m[1] as string), by: m[2] as WithdrawnBy };
}

/** Parses one AstDB entry of the pause queue; null when it is not one the routine writes. */
export function parseQueuedPause(key: string, value: string): QueuedPause | null {
  const k = lastSegment(key);
  const m = PAUSE_VALUE.exec(value);
  if (!KEY.test(k) || !m || !SAFE_CHANNEL.test(m[3] as string)) return null;
  return { kind: m[2] as 'pause' | 'resume', key: k, uniqueId: k, at: epoch(m[1] as string), channel: m[3] as string };
}

/** The queues of one service instance: requests about the calls its Stasis application served. */
export class AstDbMidCallQueue implements MidCallQueue {
  private readonly families: { queue: MidCallQueueName; family: string; parse: (k: string, v: string) => QueuedAction | null }[];

  constructor(
    private readonly ami: AmiConnection,
    private readonly app: string,
  ) {
    this.families = [
      { queue: 'withdrawals', family: `${WITHDRAWAL_FAMILY}/${app}`, parse: parseQueued },
      { queue: 'pauses', family: `${PAUSE_FAMILY}/${app}`, parse: parseQueuedPause },
    ];
  }

  async pending(): Promise<{ items: QueuedAction[]; unreadable: { queue: MidCallQueueName; key: string; value: string }[] }> {
    const items: QueuedAction[] = [];
    const unreadable: { queue: MidCallQueueName; key: string; value: string }[] = [];
    for (const { queue, family, parse } of this.families) {
      for (const ev of await this.ami.list('DBGetTree', { Family: family })) {
        if (String(ev.event).toLowerCase() !== 'dbgettreeresponse') continue;
        // One entry at a time: one that is not the routine's is reported and never hides the others.
        const key = String(ev.key ?? '');
        const value = String(ev.val ?? '');
        const q = parse(key, value);
        if (q) items.push(q);
        else unreadable.push({ queue, key, value });
      }
    }
    return { items, unreadable };
  }

  async put(item: QueuedWithdrawal): Promise<void> {
    if (!KEY.test(item.key)) throw new AmiError('queue key is not a UNIQUEID');
    await this.ami.action('DBPut', { Family: `${WITHDRAWAL_FAMILY}/${this.app}`, Key: item.key, Val: `${(item.at.getTime() / 1000).toFixed(3)}|${item.by}` });
  }

  async remove(item: QueuedAction): Promise<void> {
    const where = { Family: `${item.kind === 'withdrawal' ? WITHDRAWAL_FAMILY : PAUSE_FAMILY}/${this.app}`, Key: item.key };
    try {
      await this.ami.action('DBDel', where);
    } catch (e) {
      // Asterisk answers the same to an entry that is gone and to one it could not delete. Gone (the
      // control API and the queue's pass both finished the request) is done; one still there is an error.
      const gone = await this.ami.action('DBGet', where).then(
        () => false,
        (got: unknown) => got instanceof AmiError && /not found/i.test(String(got.response?.message ?? '')),
      );
      if (!gone) throw e;
    }
  }
}

export class AmiChannelVariables implements ChannelVariables {
  constructor(private readonly ami: AmiConnection) {}

  async set(channel: string, variables: Record<string, string>): Promise<void> {
    if (!SAFE_CHANNEL.test(channel)) throw new AmiError('channel name is outside the allowed character set');
    for (const [name, value] of Object.entries(variables)) {
      if (!VARIABLE.test(name) || !SAFE_VALUE.test(value)) throw new AmiError(`variable ${name} or its value is outside the allowed character set`);
    }
    // One action per variable: Setvar takes one. They go out together; Asterisk applies them in order.
    await Promise.all(Object.entries(variables).map(([name, value]) => this.ami.action('Setvar', { Channel: channel, Variable: name, Value: value })));
  }

  async get(channel: string, name: string): Promise<string> {
    if (!SAFE_CHANNEL.test(channel) || !VARIABLE.test(name)) throw new AmiError('channel or variable name is outside the allowed character set');
    const res = await this.ami.action('Getvar', { Channel: channel, Variable: name });
    return typeof res.value === 'string' ? res.value : '';
  }
}
