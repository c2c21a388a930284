/**
 * Router execution configs composed by the real `wgc router compose` from graph.yaml and the
 * subgraph SDLs beside it, once per test process (a composition takes a few seconds).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = fileURLToPath(new URL('.', import.meta.url))
const wgc = fileURLToPath(new URL('../../../node_modules/.bin/wgc', import.meta.url))

let composition: Promise<ComposedConfig> | undefined

export interface ComposedConfig {
  /** The file wgc wrote. */
  path: string
  text: string
}

/** Composes graph.yaml: the Cosmo demo's employeeupdated SDL verbatim, filters included. */
export function composeTestGraph(): Promise<ComposedConfig> {
  composition ??= compose(join(here, 'graph.yaml'))
  return composition
}

/**
 * The same graph with the demo's employeeUpdated guarded by
 * `@requiresScopes(scopes: [["read:employee", "read:events"], ["admin"]])`, composed by wgc as
 * a user's would be (the SDL is changed here, in code; the file stays verbatim).
 */
export function composeGuardedTestGraph(): Promise<ComposedConfig> {
  guardedComposition ??= composeGuarded()
  return guardedComposition
}

let guardedComposition: Promise<ComposedConfig> | undefined

function composeGuarded(): Promise<ComposedConfig> {
  const field = 'employeeUpdated(employeeID: Int!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.employeeID }}"])'
  const verbatim = readFileSync(join(here, 'subgraphs', 'employeeupdated.graphqls'), 'utf8')
  if (!verbatim.includes(field)) throw new Error('employeeupdated.graphqls no longer declares employeeUpdated as expected')
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-graph-'))
  writeFileSync(join(dir, 'employeeupdated.graphqls'), verbatim.replace(field, `${field} @requiresScopes(scopes: [["read:employee", "read:events"], ["admin"]])`))
  const yaml = readFileSync(join(here, 'graph.yaml'), 'utf8')
    .replaceAll('./subgraphs/employeeupdated.graphqls', join(dir, 'employeeupdated.graphqls'))
    .replaceAll('./subgraphs/', `${join(here, 'subgraphs')}/`)
  writeFileSync(join(dir, 'graph.yaml'), yaml)
  return compose(join(dir, 'graph.yaml'))
}

async function compose(input: string): Promise<ComposedConfig> {
  const out = join(mkdtempSync(join(tmpdir(), 'edge-stream-config-')), 'config.json')
  await promisify(execFile)(wgc, ['router', 'compose', '-i', input, '-o', out], {
    env: { ...process.env, COSMO_TELEMETRY_DISABLED: 'true', DO_NOT_TRACK: '1' },
    timeout: 120_000,
  })
  return { path: out, text: readFileSync(out, 'utf8') }
}
