/** The prompts slice: what other parts of src/ may use of it. */
export { buildPrompts, buildTone, noticeVersion, noticeVersionOf, promptAudioProbe, promptDurations, promptFile, type PromptProfile } from './build';
export { configuredText, missingLegalFields, renderAll, renderText, type NoticeSource, type RenderedPrompt } from './texts';
export { wavHeader } from './wav';
