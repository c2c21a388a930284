/**
 * An identity provider for tests: key pairs made with jose, tokens signed with them, and a
 * JWKS served over HTTP on 127.0.0.1 whose keys can be rotated or made to fail.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose'

export interface SigningKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

export const ISSUER = 'https://issuer.test/'
export const AUDIENCE = 'edge-stream'

export interface TokenOptions {
  /** Seconds from now; negative for a past expiry; null for no `exp` at all. */
  expiresIn?: number | null
  /** Seconds from now. */
  notBefore?: number
  issuer?: string
  audience?: string | string[]
  /** Overrides of the protected header (`alg`, `kid`, `typ`, …), kept verbatim. */
  header?: Record<string, unknown>
}

/** A token signed by `key`, for `sub`, valid for the test issuer and audience unless told otherwise. */
export async function signToken(key: SigningKey | Uint8Array, claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT(claims).setIssuedAt(now).setIssuer(options.issuer ?? ISSUER).setAudience(options.audience ?? AUDIENCE)
  if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 300))
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore)
  const header = key instanceof Uint8Array ? { alg: 'HS256' } : { alg: key.alg, kid: key.kid }
  jwt.setProtectedHeader({ ...header, typ: 'JWT', ...options.header } as unknown as { alg: string })
  return jwt.sign(key instanceof Uint8Array ? key : key.privateKey)
}

/** `alg: none`: what an attacker sends to see whether signatures are checked at all. */
export function unsignedToken(claims: JWTPayload): string {
  const now = Math.floor(Date.now() / 1000)
  return new UnsecuredJWT(claims).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now + 300).encode()
}

export interface JwksServer {
  url: string
  /** How many times the JWKS was fetched. */
  fetches(): number
  setKeys(keys: SigningKey[]): void
  /** Answers every fetch with this status (e.g. 503) until called with undefined. */
  failWith(status: number | undefined): void
  close(): Promise<void>
}

export async function startJwksServer(keys: SigningKey[]): Promise<JwksServer> {
  let current = keys
  let failure: number | undefined
  let fetches = 0
  const server = createServer((request, response) => {
    fetches++
    if (failure !== undefined || request.url !== '/.well-known/jwks.json') {
      response.writeHead(failure ?? 404).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: current.map((key) => key.publicJwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    setKeys: (next) => (current = next),
    failWith: (status) => (failure = status),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
