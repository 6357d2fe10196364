/** The report slice: what other parts of src/ may use of it. */
export { GROUP_BY, type GroupBy } from './aggregate';
export { buildReport } from './collect';
export { reportCsv, reportHtml, reportJson, type ReportLang } from './render';
