/**
 * Where the graph comes from: `SCHEMA` (a subgraph SDL itself, for Workers), `SCHEMA_PATH` (an SDL
 * file), `EXECUTION_CONFIG_FILE_PATH` (the Cosmo router execution config of a federated graph, as
 * `wgc router compose` writes it), or nothing, which means the demo (its schema, ticker and page
 * are chosen by the setup).
 */
import { ConfigError, type Env } from './env'

export type SchemaSource =
  | { source: 'SCHEMA' | 'SCHEMA_PATH'; sdl: string }
  | { source: 'EXECUTION_CONFIG_FILE_PATH'; path: string; text: string }
  | { source: 'demo' }

export function readSchemaSource(env: Env, readFile?: (path: string) => string): SchemaSource {
  const executionConfigPath = env.EXECUTION_CONFIG_FILE_PATH
  if (executionConfigPath) {
    const other = env.SCHEMA ? 'SCHEMA' : env.SCHEMA_PATH ? 'SCHEMA_PATH' : undefined
    if (other) {
      throw new ConfigError('EXECUTION_CONFIG_FILE_PATH', `is set, and so is ${other}: the execution config holds the whole graph; set only one of them`)
    }
    return { source: 'EXECUTION_CONFIG_FILE_PATH', path: executionConfigPath, text: read('EXECUTION_CONFIG_FILE_PATH', executionConfigPath, readFile) }
  }
  if (env.SCHEMA) return { sdl: env.SCHEMA, source: 'SCHEMA' }
  const path = env.SCHEMA_PATH
  if (!path) return { source: 'demo' }
  if (!readFile) throw new ConfigError('SCHEMA_PATH', 'files cannot be read on this runtime; set SCHEMA to the SDL itself')
  return { sdl: read('SCHEMA_PATH', path, readFile), source: 'SCHEMA_PATH' }
}

function read(variable: string, path: string, readFile: ((path: string) => string) | undefined): string {
  if (!readFile) throw new ConfigError(variable, `"${path}" cannot be read on this runtime: bundle it with the function (docs/federation.md)`)
  try {
    return readFile(path)
  } catch {
    throw new ConfigError(variable, `cannot read "${path}"`)
  }
}
