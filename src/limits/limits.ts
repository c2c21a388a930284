/** What one /graphql/stream request may weigh; each bound has its own clear 4xx. */
export interface Limits {
  /** Of the whole request URL (414): a GET carries its query there. */
  maxUrlLength: number
  /** UTF-8 bytes of the `query` parameter (413). */
  maxQueryBytes: number
  /** UTF-8 bytes of `variables` as JSON text (413). */
  maxVariablesBytes: number
  /** Nesting of fields, through fragments (400). */
  maxDepth: number
  /** Fields selected, counted through fragments, aliased ones included (400). */
  maxFields: number
  /** Aliased fields (400). */
  maxAliases: number
}

export const defaultLimits: Limits = {
  // Below Node's 16 KiB limit of the request head, so the answer is our 414 and not Node's 431.
  maxUrlLength: 12_288,
  maxQueryBytes: 8192,
  maxVariablesBytes: 4096,
  maxDepth: 12,
  maxFields: 200,
  maxAliases: 30,
}

/** POST bodies: query and variables, plus room for the operation name, extensions and JSON syntax. */
export function maxBodyBytes(limits: Limits): number {
  return limits.maxQueryBytes + limits.maxVariablesBytes + 4096
}
