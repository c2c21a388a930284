/**
 * `@authenticated` and `@requiresScopes` at the request, as the Cosmo router applies them: a
 * guarded field needs a verified token, and, when it names scopes, all scopes of at least one
 * of its groups. The token's scopes are its `scope` claim (space-separated, RFC 8693) or, as
 * some identity providers write them, its `scp` claim, either a string or a list of strings.
 * Checked once the query is known and before any broker I/O: a refusal is a 401 or a 403 that
 * names the field and the scopes missing.
 */
import { RequestError } from '../errors'
import type { GuardedField } from './operation'

export function authorize(guarded: readonly GuardedField[], claims: Record<string, unknown> | undefined): void {
  if (guarded.length === 0) return
  if (!claims) {
    const [first] = guarded
    throw new RequestError(401, 'UNAUTHENTICATED', `Unauthorized to load field '${first!.coordinate}': it requires authentication`, {
      'WWW-Authenticate': 'Bearer realm="edge-stream"',
    })
  }
  const scopes = new Set(scopesOf(claims))
  for (const { coordinate, requirement } of guarded) {
    const groups = requirement.requiredOrScopes
    if (groups.length === 0 || groups.some((group) => group.every((scope) => scopes.has(scope)))) continue
    // The group the token comes closest to: what it lacks is what the caller can act on.
    const missing = groups.map((group) => group.filter((scope) => !scopes.has(scope))).sort((a, b) => a.length - b.length)[0]!
    const required = groups.map((group) => group.join(' AND ')).join(', or ')
    throw new RequestError(
      403,
      'FORBIDDEN',
      `Unauthorized to load field '${coordinate}': the token lacks the scopes ${missing.join(', ')} (required: ${required}; the token has: ${[...scopes].join(' ') || 'none'})`,
    )
  }
}

/** `scope` first, then `scp`; a claim in another form gives no scopes (as Cosmo's router reads it). */
export function scopesOf(claims: Record<string, unknown>): string[] {
  for (const name of ['scope', 'scp']) {
    if (!Object.hasOwn(claims, name)) continue
    const claim = claims[name]
    if (typeof claim === 'string') return claim.split(' ').filter((scope) => scope !== '')
    if (Array.isArray(claim) && claim.every((scope) => typeof scope === 'string')) return claim as string[]
    return []
  }
  return []
}
