/**
 * Router execution configs composed by the real `wgc router compose` from graph.yaml and the
 * subgraph SDLs beside it, once per test process (a composition takes a few seconds).
 */
import { parse, print, visit } from 'graphql'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = fileURLToPath(new URL('.', import.meta.url))
const wgc = fileURLToPath(new URL('../../../node_modules/.bin/wgc', import.meta.url))

const compositions = new Map<string, Promise<ComposedConfig>>()

export interface ComposedConfig {
  /** The file wgc wrote. */
  path: string
  text: string
}

/**
 * Composes graph.yaml. `without-filters`: the employeeupdated SDL less its fields with
 * @openfed__subscriptionFilter (dropped from the verbatim file here, in code), for the entry
 * tests while execution configs with subscription filters are refused at start.
 */
export function composeTestGraph(variant: 'verbatim' | 'without-filters' = 'verbatim'): Promise<ComposedConfig> {
  let composition = compositions.get(variant)
  if (!composition) {
    composition = variant === 'verbatim' ? compose(join(here, 'graph.yaml')) : composeWithoutFilters()
    compositions.set(variant, composition)
  }
  return composition
}

function composeWithoutFilters(): Promise<ComposedConfig> {
  const verbatim = parse(readFileSync(join(here, 'subgraphs', 'employeeupdated.graphqls'), 'utf8'))
  const unfiltered = visit(verbatim, {
    FieldDefinition: (field) => (field.directives?.some((directive) => directive.name.value === 'openfed__subscriptionFilter') ? null : undefined),
  })
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-graph-'))
  writeFileSync(join(dir, 'employeeupdated.graphqls'), print(unfiltered))
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
