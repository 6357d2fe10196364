/**
 * The parts of `scripts/sandbox.sh` written in TypeScript (compiled to dist/tools/):
 *
 *   status [--json]        the sandbox's status (the one producer of it)
 *   secrets                generate the secrets that do not exist yet
 *   provision              build the service if needed, the voice prompts and the signing key
 *   stage-config           render and install the Asterisk configuration and dialplans
 *   reload-plan PID [--all]  the CLI commands that load what changed, one per line (RESTART: restart)
 *   record-loaded PID      remember what that Asterisk has loaded
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSecrets, provision, recordLoaded, reloadPlan, sandboxPaths, sandboxStatus, stageConfig, type SandboxStatus } from './sandbox';

function human(s: SandboxStatus): string {
  const state = (up: boolean) => (up ? 'up  ' : 'DOWN');
  const p = sandboxPaths();
  const a = s.asterisk;
  return [
    `chroot    ${existsSync(join(s.asteriskRoot, '.consent-ivr-ready')) ? 'ready' : 'NOT BUILT'}  ${s.asteriskRoot}`,
    `asterisk  ${state(a.running)}  ${a.version ?? ''}${a.pid ? ` (pid ${a.pid})` : ''}`,
    `ari       ${state(s.ari.running)}  ${s.ari.url}/ari  user ${s.ari.user}, app ${s.ari.app}`,
    `ami       ${state(s.ami.running)}  ${s.ami.host}:${s.ami.port}  users ${s.ami.user}, ${s.amiTest.user} (tests only)`,
    `redis     ${state(s.redis.running)}  ${s.redis.url}`,
    `recordings      ${s.recordingsDir}`,
    `sounds          ${s.soundsDir}`,
    `secrets         ${p.secretsDir}/ (or: sandbox.sh status --json)`,
    `logs            ${p.logDir}/`,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [cmd, arg, flag] = argv;
  const pid = () => {
    if (!/^\d+$/.test(arg ?? '')) throw new Error(`${cmd}: a pid is required`);
    return Number(arg);
  };
  switch (cmd) {
    case 'status': {
      const s = await sandboxStatus();
      process.stdout.write(arg === '--json' ? `${JSON.stringify(s)}\n` : human(s));
      return;
    }
    case 'secrets':
      return ensureSecrets();
    case 'provision':
      return provision();
    case 'stage-config':
      return stageConfig();
    case 'reload-plan':
      for (const c of reloadPlan(pid(), flag === '--all')) process.stdout.write(`${c}\n`);
      return;
    case 'record-loaded':
      return recordLoaded(pid());
    default:
      throw new Error(`unknown command ${cmd ?? ''} (status, secrets, provision, stage-config, reload-plan, record-loaded)`);
  }
}

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`sandbox: error: ${e.message}\n`);
  process.exit(1);
});
