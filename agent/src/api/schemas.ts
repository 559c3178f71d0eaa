/** JSON schemas the routes share (the OpenAPI document at `/api/v1/openapi.json` is made from them). */

/** A route that takes no query parameters: any one is a 400 that names it. */
export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/** A route whose path names one thing by its id (alert ids hold `/` and `|`: percent-encode them). */
export const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } } as const;

/** A time in a query: epoch milliseconds or ISO 8601 with `Z` or an offset. */
export const TIME_PARAM = { type: 'string', description: 'epoch milliseconds, or ISO 8601 with Z or an offset (2026-11-27T10:00:00Z)' } as const;
