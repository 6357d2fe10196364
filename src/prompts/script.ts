/**
 * `consent-ivr prompts script`: what a voice artist records. For each prompt of a profile in a
 * language: the exact words (the legal fields filled in), what the prompt is for, the name of the file
 * to deliver and where it ends up. A prompt with no text in that language gives the text of the
 * profile's first language that has one, to be said in the language of the recording.
 */
import { promptTexts } from '../config/schema';
import { PROMPT_NAMES, textDirection, type Language, type PromptName } from '../domain/vocabulary';
import { promptFile, type PromptProfile } from './build';
import { missingLegalFields, configuredText, renderText } from './texts';

export interface ScriptEntry {
  profile: string;
  lang: Language;
  direction: 'rtl' | 'ltr';
  prompt: PromptName;
  /** What the prompt is for (when it is played). */
  purpose: string;
  /** The name of the file to deliver (any format sox reads: `<prompt>.flac` will do too). */
  file: string;
  /** Where `prompts import` puts it. */
  path: string;
  /** The words, legal fields filled in; null when the configuration has no text in this language. */
  text: string | null;
  /** For a prompt with no text: the text of the profile's first language that has one, to translate. */
  reference: { lang: Language; text: string } | null;
  /** Legal fields the text names that have no value in this language: say them once they are set. */
  emptyLegalFields: string[];
}

/** A language's name in English (French, Arabic, Standard Moroccan Tamazight), else its code. */
export function languageName(lang: Language): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(lang) ?? lang;
  } catch {
    return lang;
  }
}

/** The script of a profile, in the languages given (its own by default), in the order they play. */
export function scriptOf(profile: PromptProfile, soundsDir: string, langs: readonly Language[] = profile.flow.languages): ScriptEntry[] {
  return langs.flatMap((lang) =>
    PROMPT_NAMES.map((prompt): ScriptEntry => {
      const text = renderText(profile, lang, prompt);
      const other = text === null ? profile.flow.languages.find((l) => l !== lang && renderText(profile, l, prompt) !== null) : undefined;
      const configured = configuredText(profile, lang, prompt);
      return {
        profile: profile.name,
        lang,
        direction: textDirection(lang),
        prompt,
        purpose: promptTexts.shape[prompt].description ?? '',
        file: `${prompt}.wav`,
        path: promptFile(soundsDir, profile.prompts.folder, lang, prompt),
        text,
        reference: other === undefined ? null : { lang: other, text: renderText(profile, other, prompt) as string },
        emptyLegalFields: configured === null ? [] : missingLegalFields(profile, lang, configured),
      };
    }),
  );
}

/** The script as plain text: one section per profile and language (pure). */
export function renderScript(entries: readonly ScriptEntry[]): string {
  const out: string[] = [];
  let section = '';
  let n = 0;
  for (const e of entries) {
    if (`${e.profile}\0${e.lang}` !== section) {
      section = `${e.profile}\0${e.lang}`;
      n = 0;
      if (out.length > 0) out.push('');
      const name = languageName(e.lang);
      out.push(
        `=== Profile ${e.profile}, ${name === e.lang ? e.lang : `${name} (${e.lang})`}${e.direction === 'rtl' ? ', right to left' : ''} ===`,
        'Record each prompt as its own file, named as below (WAV or FLAC; the extension may differ), with a',
        'second of silence at most before and after the words, peaks below -1 dBFS. Then:',
        `  consent-ivr prompts import --profile ${e.profile} --lang ${e.lang} <folder of the files>`,
        `The prompts go in ${e.path.slice(0, -e.file.length - 1)}/`,
      );
    }
    n += 1;
    out.push('', `${n}. ${e.file}  (${e.purpose})`);
    if (e.text !== null) out.push(`   ${e.text}`);
    else if (e.reference) {
      out.push(`   (no text in the configuration: record it from the ${languageName(e.reference.lang)} text below, said in ${languageName(e.lang)})`, `   [${e.reference.lang}] ${e.reference.text}`);
    } else out.push('   (no text in any language of this profile: write it first, in the configuration: prompts.texts)');
    if (e.emptyLegalFields.length > 0) out.push(`   (legal fields still empty in ${e.lang}: ${e.emptyLegalFields.join(', ')}; set them before recording)`);
  }
  return `${out.join('\n')}\n`;
}
