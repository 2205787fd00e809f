/**
 * errors.ts - HotPatchError: every failure of the native core reaches JS with
 * the core's hp_status name (`code`, e.g. 'HP_E_VERIFY') and its one-line
 * detail (`message`, hp_errmsg(), e.g. "bundle of 'r2' does not match its
 * signed SHA-256").
 */

/** The core's result codes (hotpatch.h hp_status), by name. */
export type HotPatchStatus =
  | 'HP_E_NOMEM'
  | 'HP_E_INVAL'
  | 'HP_E_IO'
  | 'HP_E_NET'
  | 'HP_E_HTTP'
  | 'HP_E_VERIFY'
  | 'HP_E_EXPIRED'
  | 'HP_E_REPLAY'
  | 'HP_E_UNSAFE'
  | 'HP_E_CANCELLED'
  | 'HP_E_STATE';

const STATUSES: ReadonlySet<string> = new Set<HotPatchStatus>([
  'HP_E_NOMEM',
  'HP_E_INVAL',
  'HP_E_IO',
  'HP_E_NET',
  'HP_E_HTTP',
  'HP_E_VERIFY',
  'HP_E_EXPIRED',
  'HP_E_REPLAY',
  'HP_E_UNSAFE',
  'HP_E_CANCELLED',
  'HP_E_STATE',
]);

export class HotPatchError extends Error {
  /** hp_status name; 'HP_E_STATE' for a native failure that carried no core code */
  readonly code: HotPatchStatus;
  constructor(code: HotPatchStatus, message: string) {
    super(message);
    this.name = 'HotPatchError';
    this.code = code;
  }
}

/** Turn a native promise rejection ({code, message}) into a HotPatchError. */
export function toHotPatchError(e: unknown): HotPatchError {
  if (e instanceof HotPatchError) {
    return e;
  }
  const obj = (typeof e === 'object' && e !== null ? e : {}) as {code?: unknown; message?: unknown};
  const code = typeof obj.code === 'string' && STATUSES.has(obj.code) ? (obj.code as HotPatchStatus) : 'HP_E_STATE';
  const message = typeof obj.message === 'string' ? obj.message : String(e);
  return new HotPatchError(code, message);
}
