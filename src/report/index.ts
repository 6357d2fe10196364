/** The report slice: what other parts of src/ may use of it. */
export { GROUP_BY, type GroupBy } from './aggregate';
export { buildReport } from './collect';
export { reportHtml } from './html';
export { reportCsv, reportJson } from './render';
export { REPORT_LANGS, type ReportLang } from './texts';
export { hostTimeZone, parseZonedTime, timeZoneName, ZoneCalendar } from './zone';
