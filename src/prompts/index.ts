/** The prompts slice: what other parts of src/ may use of it. */
export { buildPrompts, buildTone, noticeVersion, noticeVersionOf, promptDurations } from './build';
export { wavHeader } from './wav';
