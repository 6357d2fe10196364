/**
 * Read-only questions to AMI for `consent-ivr doctor`: which actions this user may send, a config
 * value, a dialplan function's value.
 */
import type { AmiConnection } from './ami-connection';

export class AmiProbe {
  constructor(private readonly ami: AmiConnection) {}

  /** The actions this AMI user is allowed to send (lower case). */
  async permittedActions(): Promise<Set<string>> {
    const r = await this.ami.action('ListCommands', {});
    return new Set(Object.keys(r).map((k) => k.toLowerCase()));
  }

  /**
   * The value of a dialplan function evaluated on no channel (Getvar without Channel), e.g.
   * DIALPLAN_EXISTS(consent-ivr,s,1). Needs the `call` write privilege.
   */
  async evaluate(expression: string): Promise<string> {
    const r = await this.ami.action('Getvar', { Variable: expression });
    return String(r.value ?? '');
  }

  /**
   * A value of an Asterisk configuration file as Asterisk reads it (GetConfig): the last `key` of
   * `category`; null when unset. Needs the `system` (or `config`) write privilege.
   */
  async configValue(file: string, category: string, key: string): Promise<string | null> {
    const r = await this.ami.action('GetConfig', { Filename: file, Category: category });
    let value: string | null = null;
    for (const [k, v] of Object.entries(r)) {
      if (!/^line-\d+-\d+$/i.test(k)) continue;
      const m = /^\s*([^=]+?)\s*=>?\s*(.*)$/.exec(String(v));
      if (m && m[1]?.toLowerCase() === key.toLowerCase()) value = (m[2] ?? '').trim();
    }
    return value;
  }
}
