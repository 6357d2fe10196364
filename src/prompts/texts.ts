/** Turns the configured texts into the sentences spoken for each prompt (pure). */
import type { Config } from '../config/schema';
import { LANGUAGES, PROMPT_NAMES, type Language, type PromptName } from '../domain/vocabulary';

const PLACEHOLDER = /\{(controller|cndpReference|purposes|recipients|retention|rights)\}/g;

export function renderText(config: Pick<Config, 'prompts' | 'legal'>, lang: Language, prompt: PromptName): string {
  const { legal } = config;
  const text = config.prompts.texts[lang][prompt];
  return text
    .replace(PLACEHOLDER, (_m, key: string) => {
      switch (key) {
        case 'controller':
          return legal.controller;
        case 'cndpReference':
          return legal.cndpReference;
        default:
          return legal[key as 'purposes' | 'recipients' | 'retention' | 'rights'][lang];
      }
    })
    .replace(/\s+/g, ' ')
    .trim();
}

export interface RenderedPrompt {
  lang: Language;
  prompt: PromptName;
  text: string;
}

export function renderAll(config: Pick<Config, 'prompts' | 'legal'>): RenderedPrompt[] {
  return LANGUAGES.flatMap((lang) => PROMPT_NAMES.map((prompt) => ({ lang, prompt, text: renderText(config, lang, prompt) })));
}
