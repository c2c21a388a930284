/**
 * The one reader of the environment: every area's variables, checked at start. Provider
 * settings (`NATS_<ID>_*`, …) depend on which providers the schema names, so the setup reads
 * them per provider with the readers of config/providers.ts.
 */
import type { AuthConfig } from '../auth/auth-config'
import type { Limits } from '../limits/limits'
import { readAuthConfig } from './auth'
import type { Env } from './env'
import { readFederationConfig, type FederationConfig } from './federation'
import { readLimits } from './limits'
import { readSchemaSource, type SchemaSource } from './schema-source'
import { readServerConfig, type ServerConfig } from './server'

export interface Config extends ServerConfig {
  /** The SDL and where it came from; `demo` also means the demo ticker and page. */
  schema: SchemaSource
  /** JWT authentication; undefined when it is off. */
  auth: AuthConfig | undefined
  limits: Limits
  /** Entity resolution of a federated graph (used with EXECUTION_CONFIG_FILE_PATH). */
  federation: FederationConfig
}

/** Reads and checks every variable; throws one ConfigError naming the first bad one. */
export function readEnv(env: Env, readFile?: (path: string) => string): Config {
  return {
    ...readServerConfig(env),
    schema: readSchemaSource(env, readFile),
    auth: readAuthConfig(env),
    limits: readLimits(env),
    federation: readFederationConfig(env),
  }
}
