/** `consent-ivr prompts build` with the real espeak-ng and sox (installed by the sandbox). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { profileSetOf } from '../../src/config/profiles';
import { buildPrompts, noticeVersion } from '../../src/prompts/build';
import { renderText } from '../../src/prompts/texts';
import { REPO, wavSeconds } from '../support';

const env = { CONSENT_IVR_ARI_PASSWORD: 'x', CONSENT_IVR_AMI_SECRET: 'x', CONSENT_IVR_PSEUDONYM_KEY: 'x' };
const { config } = loadConfig(resolve(REPO, 'config/sandbox.yaml'), env);

describe('prompts', () => {
  test('When texts are rendered, then the legal values of each language are filled in', () => {
    const fr = renderText(config, 'fr', 'full-notice');
    expect(fr).toContain(config.legal.controller);
    expect(fr).toContain(config.legal.cndpReference);
    expect(fr).toContain(config.legal.retention.fr);
    expect(fr).not.toMatch(/\{[a-zA-Z]+\}/);
    expect(renderText(config, 'ar', 'full-notice')).toContain(config.legal.rights.ar);
  });

  test('When prompts are built, then every prompt is an 8 kHz mono 16-bit WAV, an admin-supplied file is left alone, and the notice version follows the audio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'civr-sounds-'));
    // An administrator recorded their own French notice before the first build.
    mkdirSync(join(dir, 'fr', 'consent-ivr'), { recursive: true });
    const own = join(dir, 'fr', 'consent-ivr', 'notice.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', own, 'synth', '1', 'sine', '440']);
    const ownBytes = readFileSync(own);

    const first = await buildPrompts(profileSetOf(config).default, dir);
    expect(first).toHaveLength(20);
    expect(first.find((r) => r.lang === 'fr' && r.prompt === 'notice')?.status).toBe('admin-supplied');
    expect(first.filter((r) => r.status === 'generated')).toHaveLength(19);
    expect(readFileSync(own).equals(ownBytes)).toBe(true);

    const ar = join(dir, 'ar', 'consent-ivr', 'notice.wav');
    const header = readFileSync(ar);
    expect(header.readUInt16LE(22)).toBe(1); // channels
    expect(header.readUInt32LE(24)).toBe(8000); // sample rate
    expect(header.readUInt16LE(34)).toBe(16); // bits per sample
    expect(wavSeconds(ar)).toBeGreaterThan(3);

    const v1 = noticeVersion(profileSetOf(config).default, dir);
    expect(v1.audioMissing).toEqual([]);
    const second = await buildPrompts(profileSetOf(config).default, dir);
    expect(second.filter((r) => r.status === 'unchanged')).toHaveLength(19);
    expect(noticeVersion(profileSetOf(config).default, dir).version).toBe(v1.version);

    // Replacing a prompt's audio changes the notice version.
    writeFileSync(own, Buffer.concat([ownBytes, Buffer.alloc(1600)]));
    expect(noticeVersion(profileSetOf(config).default, dir).version).not.toBe(v1.version);
  }, 60000);
});
