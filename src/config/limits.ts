import { integer, type Env } from './env'
import { defaultLimits, type Limits } from '../limits/limits'

/** `MAX_URL_LENGTH`, `MAX_QUERY_BYTES`, `MAX_VARIABLES_BYTES`, `MAX_QUERY_DEPTH`, `MAX_QUERY_FIELDS`, `MAX_QUERY_ALIASES`. */
export function readLimits(env: Env): Limits {
  return {
    maxUrlLength: integer(env, 'MAX_URL_LENGTH', defaultLimits.maxUrlLength, 256, 1_048_576),
    // Capped: a longer query could chain fragments deeply enough to overflow graphql-js's recursive validation.
    maxQueryBytes: integer(env, 'MAX_QUERY_BYTES', defaultLimits.maxQueryBytes, 64, 32_768),
    maxVariablesBytes: integer(env, 'MAX_VARIABLES_BYTES', defaultLimits.maxVariablesBytes, 2, 1_048_576),
    // Bounded so that the nesting guard derived from it stays far from the parser's stack limit.
    maxDepth: integer(env, 'MAX_QUERY_DEPTH', defaultLimits.maxDepth, 1, 100),
    maxFields: integer(env, 'MAX_QUERY_FIELDS', defaultLimits.maxFields, 1, 10_000),
    maxAliases: integer(env, 'MAX_QUERY_ALIASES', defaultLimits.maxAliases, 0, 10_000),
  }
}
