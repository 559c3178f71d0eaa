/** The key of scrap that no reason explains, in every window's scrap by reason; no site may define it as a code. */
export const UNASSIGNED_REASON = 'unassigned';

/** What a scrap reason code may be made of: it is a tag value, a URL parameter and a config key. */
export const REASON_CODE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** True for a well-formed code that is not the reserved `unassigned`. */
export function isReasonCode(code: string): boolean {
  return REASON_CODE_RE.test(code) && code !== UNASSIGNED_REASON;
}

/** Where scrap goes, as the ESRS E5-5 waste categories (`internal_reuse`: in-house regrind or remelt). */
export const SCRAP_DESTINATIONS = [
  'internal_reuse',
  'external_recycling',
  'other_recovery',
  'incineration',
  'landfill',
  'other_disposal',
] as const;
