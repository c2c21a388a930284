import { chromium, type Browser } from 'playwright-core'
import { ensureCommand } from './processes'

/** TOOLCHAIN's flags for Debian's Chromium; playwright adds --headless and a fresh --user-data-dir per launch. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Debian's Chromium (installed when missing), driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  ensureCommand('chromium', 'chromium')
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS, headless: true })
}
