/** The prompts slice: what other parts of src/ may use of it. */
export { buildPrompts, buildTone, noticeVersion, noticeVersionOf, promptAudioProbe, promptDurations, promptFile, voicesOf, MANIFEST, type BuildResult, type Manifest, type PromptProfile } from './build';
export { importPrompts, IMPORT_LEVELS, type ImportReport } from './import';
export { languageName, renderScript, scriptOf, type ScriptEntry } from './script';
export { configuredText, missingLegalFields, renderAll, renderText, type NoticeSource, type RenderedPrompt } from './texts';
export { describeVoice, VoiceBox, voiceId, type Voice, type VoiceChoice } from './voices';
export { wavHeader } from './wav';
