/**
 * Where the subgraph SDL comes from: `SCHEMA` (the text itself, for Workers), `SCHEMA_PATH` (a file),
 * or nothing, which means the demo (its schema, ticker and page are chosen by the setup).
 */
import { ConfigError, type Env } from './env'

export type SchemaSource = { source: 'SCHEMA' | 'SCHEMA_PATH'; sdl: string } | { source: 'demo' }

export function readSchemaSource(env: Env, readFile?: (path: string) => string): SchemaSource {
  if (env.SCHEMA) return { sdl: env.SCHEMA, source: 'SCHEMA' }
  const path = env.SCHEMA_PATH
  if (!path) return { source: 'demo' }
  if (!readFile) throw new ConfigError('SCHEMA_PATH', 'files cannot be read on this runtime; set SCHEMA to the SDL itself')
  try {
    return { sdl: readFile(path), source: 'SCHEMA_PATH' }
  } catch {
    throw new ConfigError('SCHEMA_PATH', `cannot read "${path}"`)
  }
}
