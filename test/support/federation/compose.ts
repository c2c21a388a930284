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

const compositions = new Map<string, Promise<ComposedConfig>>()

export interface ComposedConfig {
  /** The file wgc wrote. */
  path: string
  text: string
}

/** Composes graph.yaml, or another graph file of this folder. */
export function composeTestGraph(graphFile = 'graph.yaml'): Promise<ComposedConfig> {
  let composition = compositions.get(graphFile)
  if (!composition) {
    composition = compose(join(here, graphFile))
    compositions.set(graphFile, composition)
  }
  return composition
}

/** Composes a graph.yaml written from `yaml` in a temporary folder; subgraph files are relative to this folder. */
export async function composeGraph(yaml: string): Promise<ComposedConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-stream-graph-'))
  const input = join(dir, 'graph.yaml')
  writeFileSync(input, yaml.replaceAll('./subgraphs/', `${join(here, 'subgraphs')}/`))
  return compose(input)
}

async function compose(input: string): Promise<ComposedConfig> {
  const out = join(mkdtempSync(join(tmpdir(), 'edge-stream-config-')), 'config.json')
  await promisify(execFile)(wgc, ['router', 'compose', '-i', input, '-o', out], {
    env: { ...process.env, COSMO_TELEMETRY_DISABLED: 'true', DO_NOT_TRACK: '1' },
    timeout: 120_000,
  })
  return { path: out, text: readFileSync(out, 'utf8') }
}
