import { z } from 'zod';
import { REASON_CODE_RE, UNASSIGNED_REASON } from '../reasons.js';

/** Schema of a scrap reason code as a config key. */
export const reasonCodeSchema = z
  .string()
  .regex(REASON_CODE_RE, { message: 'expected a reason code of 1 to 64 letters, digits, ".", "_" or "-"' })
  .refine((c) => c !== UNASSIGNED_REASON, { message: `expected a code other than "${UNASSIGNED_REASON}" (the key of scrap no reason explains)` });
