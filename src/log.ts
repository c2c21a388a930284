/**
 * Structured JSON logs, one line per event of a stream's life. Never a token or a payload.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type Logger = (level: Exclude<LogLevel, 'silent'>, event: string, fields?: Record<string, unknown>) => void

export function isLogLevel(value: string): value is LogLevel {
  return value in ORDER
}

export function createLogger(threshold: LogLevel, write: (line: string) => void = console.log): Logger {
  return (level, event, fields) => {
    if (ORDER[level] < ORDER[threshold]) return
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }))
  }
}

export const silentLogger: Logger = () => {}
