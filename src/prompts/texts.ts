/** Turns a profile's configured texts into the sentences spoken for each prompt (pure). */
import type { Profile } from '../config/profiles';
import { PROMPT_NAMES, type Language, type PromptName } from '../domain/vocabulary';

/** What the texts of a notice come from: a profile (the configuration's top level is the default one). */
export type NoticeSource = Pick<Profile, 'prompts' | 'legal' | 'flow'>;

const PLACEHOLDER = /\{(controller|cndpReference|purposes|recipients|retention|rights)\}/g;
export const LEGAL_PLACEHOLDERS = ['controller', 'cndpReference', 'purposes', 'recipients', 'retention', 'rights'] as const;

/** The configured text of a prompt in a language, or null when it has none (a studio recording is needed). */
export function configuredText(source: NoticeSource, lang: Language, prompt: PromptName): string | null {
  const text = source.prompts.texts[lang]?.[prompt];
  return text === undefined || text.trim() === '' ? null : text;
}

/** The legal fields a text names that have no value in its language. */
export function missingLegalFields(source: NoticeSource, lang: Language, text: string): string[] {
  const missing = new Set<string>();
  for (const [, key] of text.matchAll(PLACEHOLDER)) {
    const value = key === 'controller' || key === 'cndpReference' ? source.legal[key] : source.legal[key as 'purposes' | 'recipients' | 'retention' | 'rights'][lang];
    if (value === undefined || value.trim() === '') missing.add(key as string);
  }
  return [...missing];
}

/** The sentence spoken, legal fields filled in, or null when the prompt has no text in that language. */
export function renderText(source: NoticeSource, lang: Language, prompt: PromptName): string | null {
  const text = configuredText(source, lang, prompt);
  if (text === null) return null;
  const { legal } = source;
  return text
    .replace(PLACEHOLDER, (_m, key: string) => {
      switch (key) {
        case 'controller':
          return legal.controller;
        case 'cndpReference':
          return legal.cndpReference;
        default:
          return legal[key as 'purposes' | 'recipients' | 'retention' | 'rights'][lang] ?? '';
      }
    })
    .replace(/\s+/g, ' ')
    .trim();
}

export interface RenderedPrompt {
  lang: Language;
  prompt: PromptName;
  /** Null: no text in the configuration, the prompt is a studio recording. */
  text: string | null;
}

/** Every prompt of every language of the profile, in the order its notice plays them. */
export function renderAll(source: NoticeSource): RenderedPrompt[] {
  return source.flow.languages.flatMap((lang) => PROMPT_NAMES.map((prompt) => ({ lang, prompt, text: renderText(source, lang, prompt) })));
}
