/**
 * Why a record (or a rule file, or a schema) was rejected: a stable `code` (missing_required, wrong_type,
 * bad_timestamp, invalid_json, invalid_value, out_of_range, too_deep, …), the JSON path of the value, and
 * a sentence. Bad input is data: it is reported with these, not thrown.
 */
export interface ValidationIssue {
  code: string;
  path: string;
  message: string;
}
