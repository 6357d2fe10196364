/**
 * After the consent flow, over AMI: the withdrawals the dialplan queued in AstDB
 * (dialplans/consent-ivr.conf, family consent-ivr-withdrawn), and variables set on the agent's
 * channel of an outbound call. Every value sent is checked here, whatever the caller passes.
 */
import type { WithdrawnBy } from '../../ports/ledger';
import type { ChannelVariables, QueuedWithdrawal, WithdrawalQueue } from '../../ports/midcall';
import type { AmiConnection } from './ami-connection';
import { AmiError } from './ami-connection';
import { SAFE_CHANNEL } from './recorder';

/** The AstDB family the dialplan's withdrawal routine writes to, under the Stasis application's name. */
export const WITHDRAWAL_FAMILY = 'consent-ivr-withdrawn';
export const withdrawalFamily = (app: string) => `${WITHDRAWAL_FAMILY}/${app}`;
/** Keys are UNIQUEIDs (digits and a dot); values "<epoch seconds>|<caller|agent>". */
const KEY = /^[0-9]+\.[0-9]+$/;
const VALUE = /^([0-9]{9,11}(?:\.[0-9]{1,6})?)\|(caller|agent)$/;
const VARIABLE = /^[A-Z][A-Z0-9_]*$/;
/** Variable values the service sets: results, reasons, ids and server-made paths. */
const SAFE_VALUE = /^[A-Za-z0-9._\-/]*$/;

/** Parses one AstDB entry of the queue; null when it is not one the routine writes. */
export function parseQueued(key: string, value: string): QueuedWithdrawal | null {
  const k = key.slice(key.lastIndexOf('/') + 1);
  const m = VALUE.exec(value);
  if (!KEY.test(k) || !m) return null;
  return { key: k, uniqueId: k, at: new Date(Math.round(Number(m[1]) * 1000)), by: m[2] as WithdrawnBy };
}

/** The queue of one service instance: withdrawals of the calls its Stasis application served. */
export class AstDbWithdrawalQueue implements WithdrawalQueue {
  private readonly family: string;

  constructor(
    private readonly ami: AmiConnection,
    app: string,
  ) {
    this.family = withdrawalFamily(app);
  }

  async pending(): Promise<{ items: QueuedWithdrawal[]; unreadable: string[] }> {
    const events = await this.ami.list('DBGetTree', { Family: this.family });
    const items: QueuedWithdrawal[] = [];
    const unreadable: string[] = [];
    for (const ev of events) {
      if (String(ev.event).toLowerCase() !== 'dbgettreeresponse') continue;
      const q = parseQueued(String(ev.key ?? ''), String(ev.val ?? ''));
      if (q) items.push(q);
      else unreadable.push(String(ev.key ?? '').slice(`/${this.family}/`.length));
    }
    return { items, unreadable };
  }

  async remove(key: string): Promise<void> {
    // Unreadable entries are removed by key too: allow any key AstDB can hold, minus line breaks
    // (the connection rejects those) and '/' (which would name another family's key).
    if (key.includes('/')) throw new AmiError('AstDB key contains a slash');
    await this.ami.action('DBDel', { Family: this.family, Key: key });
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
}
