/** `consent-ivr check-config`: what an administrator must fix before going live (pure). */
import { profileSetOf, type Profile } from '../config/profiles';
import type { Config } from '../config/schema';
import { DEFAULT_PROFILE, PROMPT_NAMES, type Language, type PromptName } from '../domain/vocabulary';
import { parseSigner, readVerifierFiles } from '../evidence';

export interface Finding {
  level: 'error' | 'warning';
  key: string;
  message: string;
}

/** The sample legal values shipped in config/consent-ivr.yaml; a live site must replace them. */
export const SAMPLE_LEGAL = {
  controller: 'Société Exemple SARL',
  cndpReference: 'D-000-2026',
  purposes: { fr: 'la qualité du service', ar: 'جَوْدَةُ الْخِدْمَةِ' },
  recipients: { fr: 'le service qualité de Société Exemple', ar: 'مَصْلَحَةُ الْجَوْدَةِ لَدَى الشَّرِكَةِ' },
  retention: { fr: 'six mois', ar: 'سِتَّةُ أَشْهُرٍ' },
  rights: { fr: 'écrivez à dpo@exemple.ma', ar: 'رَاسِلُونَا عَلَى الْعُنْوَانِ dpo@exemple.ma' },
} as const;

/** Arabic text without its vowel marks: the sample values, vocalised or not (as shipped before), are one. */
const withoutHarakat = (s: string): string => s.replace(/[\u064B-\u065F\u0670]/g, '');

/** Legal fields that the full notice of Law 09-08 art. 5 needs. */
const LEGAL_TEXT_KEYS = ['purposes', 'recipients', 'retention', 'rights'] as const;

/**
 * Whether a profile's prompt has its audio file: true, false, or null when the sounds directory
 * cannot be read from here (Asterisk on another host).
 */
export type AudioProbe = (profile: Profile, lang: Language, prompt: PromptName) => boolean | null;

/** The key of a profile's setting: `legal.controller` for the default, `profiles.bank.legal.controller` for another. */
function keyOf(profile: Profile, key: string): string {
  return profile.name === DEFAULT_PROFILE ? key : `profiles.${profile.name}.${key}`;
}

/** What one profile's notice needs: its legal fields, and every prompt of every language as a text or a recording. */
function checkProfile(p: Profile, audio: AudioProbe | undefined, findings: Finding[]): void {
  const sample = SAMPLE_LEGAL;
  const where = p.name === DEFAULT_PROFILE ? '' : ` (profile ${p.name})`;
  const unset = (key: string, what: string) => findings.push({ level: 'error', key: keyOf(p, key), message: `${what} is not set${where}` });
  const sampleLeft = (key: string) => findings.push({ level: 'error', key: keyOf(p, key), message: `still the sample value shipped with consent-ivr${where}` });
  const { legal } = p;
  if (!legal.controller.trim()) unset('legal.controller', 'the controller (who records)');
  else if (legal.controller === sample.controller) sampleLeft('legal.controller');
  if (!legal.cndpReference.trim()) unset('legal.cndpReference', 'the CNDP receipt or authorisation number');
  else if (legal.cndpReference === sample.cndpReference) sampleLeft('legal.cndpReference');
  for (const lang of p.flow.languages) {
    const texts = p.prompts.texts[lang] ?? {};
    const spoken = Object.values(texts).some((t) => t !== undefined && t.trim() !== '');
    // A language spoken from texts needs the legal fields in it; one from studio recordings only says them in the audio.
    if (spoken) {
      for (const k of LEGAL_TEXT_KEYS) {
        const v = legal[k][lang] ?? '';
        if (!v.trim()) unset(`legal.${k}.${lang}`, `the ${k} in ${lang}`);
        else if (withoutHarakat(v) === withoutHarakat((sample[k] as Record<string, string>)[lang] ?? '')) sampleLeft(`legal.${k}.${lang}`);
      }
    }
    for (const prompt of PROMPT_NAMES) {
      const text = texts[prompt];
      const hasText = text !== undefined && text.trim() !== '';
      const hasAudio = audio?.(p, lang, prompt) ?? null;
      if (hasText || hasAudio === true) continue;
      const fix = `give prompts.texts.${lang}.${prompt} or import a studio recording (consent-ivr prompts import --profile ${p.name} --lang ${lang} DIR)`;
      if (hasAudio === false || audio === undefined) {
        findings.push({ level: 'error', key: keyOf(p, `prompts.texts.${lang}.${prompt}`), message: `profile ${p.name}, language ${lang}, prompt ${prompt}: no text and no recording; ${fix}` });
      } else {
        findings.push({ level: 'warning', key: keyOf(p, `prompts.texts.${lang}.${prompt}`), message: `profile ${p.name}, language ${lang}, prompt ${prompt}: no text, and its recording cannot be looked for from here` });
      }
    }
    const fullNotice = texts['full-notice'];
    if (fullNotice === undefined || !fullNotice.trim()) continue;
    for (const ph of ['{controller}', '{purposes}', '{recipients}', '{retention}', '{rights}', '{cndpReference}']) {
      if (!fullNotice.includes(ph)) {
        findings.push({ level: 'warning', key: keyOf(p, `prompts.texts.${lang}.full-notice`), message: `does not mention ${ph}: the full notice must give it (Law 09-08 art. 5)${where}` });
      }
    }
  }
  if (p.retentionDays > 365) {
    findings.push({ level: 'warning', key: keyOf(p, 'ledger.retentionDays'), message: `more than a year: keep recordings no longer than their purpose needs${where}` });
  }
}

export function checkConfig(config: Config, audio?: AudioProbe): Finding[] {
  const findings: Finding[] = [];
  if (config.secrets.signingKey) {
    try {
      parseSigner(config.secrets.signingKey);
    } catch (e) {
      findings.push({ level: 'error', key: 'ledger.signingKeyFile', message: `not a checkpoint signing key (${(e as Error).message}); make one with consent-ivr keys generate` });
    }
  }
  try {
    readVerifierFiles(config.ledger.trustedKeyFiles);
  } catch (e) {
    findings.push({ level: 'error', key: 'ledger.trustedKeyFiles', message: (e as Error).message });
  }
  for (const profile of profileSetOf(config).all) checkProfile(profile, audio, findings);
  if (!config.recording.options.replace(/\([^)]*\)/g, '').includes('b')) {
    findings.push({ level: 'warning', key: 'recording.options', message: 'without "b" the recording also captures this IVR and anything before the bridge' });
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(config.metrics.host)) {
    findings.push({ level: 'warning', key: 'metrics.host', message: 'metrics listen beyond loopback' });
  }
  if (config.api.enabled && !['127.0.0.1', 'localhost', '::1'].includes(config.api.host)) {
    findings.push({ level: 'warning', key: 'api.host', message: 'the control API listens beyond loopback: its bearer token and the calls it acts on cross the network in clear HTTP; keep it on loopback behind a TLS proxy' });
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(config.ami.host)) {
    findings.push({ level: 'warning', key: 'ami.host', message: 'AMI is reached over the network: keep it on loopback or a private link' });
  }
  return findings;
}

/** Seconds of each prompt, by "<lang>/<prompt>", as far as they could be measured. */
export type PromptDurations = Map<string, number>;

/**
 * The longest a silent caller stays in the flow: notice, then the choice again after each timeout,
 * then "not recorded" in every language. Beyond flow.maxCallMs they would end as error, not no-input.
 */
export function checkTimings(config: Pick<Profile, 'flow'> & { name?: string }, durations: PromptDurations): Finding[] {
  const { languages, inputTimeoutMs, maxAttempts, maxCallMs } = config.flow;
  const key = config.name === undefined || config.name === DEFAULT_PROFILE ? 'flow.maxCallMs' : `profiles.${config.name}.flow.maxCallMs`;
  const sum = (prompt: string) => languages.reduce((t, l) => t + (durations.get(`${l}/${prompt}`) ?? NaN), 0);
  const seconds = sum('notice') + inputTimeoutMs / 1000 + (maxAttempts - 1) * (sum('choice') + inputTimeoutMs / 1000) + sum('refused');
  if (Number.isNaN(seconds)) return [{ level: 'warning', key: 'prompts.soundsDir', message: 'prompt files not found: build them with `consent-ivr prompts build`' }];
  if (seconds * 1000 > maxCallMs - 2000) {
    return [
      {
        level: 'warning',
        key,
        message: `a silent caller needs about ${seconds.toFixed(1)} s, too close to or over maxCallMs (${maxCallMs / 1000} s): they would end as error instead of no-input; shorten the prompts or raise maxCallMs`,
      },
    ];
  }
  return [];
}

/**
 * Dialplan lines that would end the call because of the caller's answer: a refusal (or silence)
 * must never cost the caller the service. Looks for CONSENT_RESULT tests that hang up, directly
 * or through a label whose first application is Hangup().
 */
export function checkDialplan(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  const labelApp = new Map<string, string>();
  for (const line of lines) {
    const m = /^\s*(?:exten|same)\s*=>\s*(?:[^,]*,)?\s*n?\(([A-Za-z0-9_-]+)\)\s*,\s*([A-Za-z]+)/.exec(line);
    if (m?.[1] && m[2]) labelApp.set(m[1], m[2].toLowerCase());
  }
  lines.forEach((raw, i) => {
    const line = raw.replace(/;.*$/, '');
    if (!line.includes('CONSENT_RESULT')) return;
    const where = `${file}:${i + 1}`;
    if (/\bHangup\s*\(/i.test(line)) {
      findings.push({ level: 'error', key: where, message: 'hangs up depending on CONSENT_RESULT: refusing must never end the call' });
      return;
    }
    const branch = /GotoIf\s*\(.*\?([^)]*)\)/i.exec(line);
    if (!branch?.[1]) return;
    for (const target of branch[1].split(':')) {
      const label = target.split(',').pop()?.trim() ?? '';
      if (labelApp.get(label) === 'hangup') {
        findings.push({ level: 'error', key: where, message: `branches on CONSENT_RESULT to "${label}", which hangs up: refusing must never end the call` });
      }
    }
  });
  return findings;
}
