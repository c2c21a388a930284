/**
 * fast-check arbitraries of hostile requests to /graphql/stream: random and mutated queries,
 * variables, operation names, extensions, resume positions, tokens, headers, bodies, methods
 * and paths. Everything an attacker controls, generated.
 */
import fc, { type Arbitrary } from 'fast-check'
import { seeds } from './schemas'

export interface HostileRequest {
  method: string
  path: string
  params: [string, string][]
  /** Appended to the encoded parameters as is: broken percent-encodings, odd separators. */
  rawQuery: string
  headers: [string, string][]
  body?: string | Uint8Array<ArrayBuffer>
  /** Credentials sent: a response must never show them. */
  secrets: string[]
}

/** Prepared outside the generators: tokens and cursors need async signing. */
export interface Pools {
  /** Tokens the server accepts. */
  validTokens: string[]
  /** Signed but wrong (expired, foreign key, evil claims…) and plain garbage. */
  hostileTokens: string[]
  /** Cursors of the seeds' subscriptions, and of other providers and subscriptions. */
  cursors: string[]
  /** Subscription bindings of the seeds, for hand-made positions. */
  bindings: string[]
}

const JUNK = [
  '{', '}', '(', ')', '[', ']', '"', '"""', '\\', '$', '@', '...', '#', '\n', '\r', '\t', '\u0000', '\uD800', '\uFFFF', '\u202E',
  '*', '>', '.', ',', ':', '=', '!', '&', '%', '+', ' ', 'é', '😀', 'subscription', 'query', 'mutation', 'fragment', 'on',
  '__typename', '__schema', '{{ claims.sub }}', '{{ args.topic }}', 'null', 'true', '1e999', '-0', '\\u0000', '\\uD800', '$s',
] as const

const text = (maxLength: number): Arbitrary<string> =>
  fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }))

const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 8 }), insert: fc.oneof(fc.constantFrom(...JUNK), text(6)) })

/** A string with a few random insertions, deletions and replacements. */
export function mutated(source: Arbitrary<string>): Arbitrary<string> {
  return fc.tuple(source, fc.array(edit, { minLength: 1, maxLength: 6 })).map(([start, edits]) =>
    edits.reduce((s, e) => {
      const at = e.at % (s.length + 1)
      return s.slice(0, at) + e.insert + s.slice(at + e.remove)
    }, start),
  )
}

const times = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(' ')
const root = 'events(stream: "s", topic: "a")'

/** Queries built to hit a limit or a worst case of parsing, validation or execution. */
const evilQuery: Arbitrary<string> = fc.oneof(
  fc.integer({ min: 2, max: 4000 }).map((n) => `subscription { ${root} ${'{ n '.repeat(n)}${'}'.repeat(n)} }`),
  fc.integer({ min: 2, max: 9000 }).map((n) => `subscription ${'{'.repeat(n)}`),
  fc.integer({ min: 2, max: 5000 }).map((n) => `subscription { events(stream: ${'['.repeat(n)}"s"${']'.repeat(n)}, topic: "a") { n } }`),
  fc.integer({ min: 2, max: 300 }).map((n) => `subscription { search(filter: ${'{kind: "k", nested: '.repeat(n)}{kind: "k"}${'}'.repeat(n)}) { n } }`),
  fc.integer({ min: 2, max: 800 }).map((n) => `subscription { ${root} { ${times(n, (i) => `a${i}: n`)} } }`),
  fc.integer({ min: 2, max: 2000 }).map((n) => `subscription { ${root} { ${'n '.repeat(n)}} }`),
  fc.integer({ min: 2, max: 200 }).map((n) => `subscription { ${times(n, (i) => `r${i}: ${root} { n }`)} }`),
  fc.integer({ min: 2, max: 60 }).map(
    (n) => `subscription { ${root} { ...F0 } } ${times(n, (i) => `fragment F${i} on Event { n ...F${i + 1} ...F${i + 1} }`)} fragment F${n} on Event { n }`,
  ),
  fc.constant(`subscription { ${root} { ...A } } fragment A on Event { ...B } fragment B on Event { ...A }`),
  fc.integer({ min: 1, max: 40_000 }).map((n) => `subscription { events(stream: "${'s'.repeat(n)}", topic: "a") { n } }`),
  fc.integer({ min: 2, max: 2000 }).map((n) => `subscription { ${root} { n ${'@include(if: true) '.repeat(n)}} }`),
  fc.integer({ min: 2, max: 500 }).map((n) => `subscription(${times(n, (i) => `$v${i}: String`)}) { ${root} { n } }`),
  fc.integer({ min: 1, max: 30_000 }).map((n) => `subscription { ${root} { n } } # ${'x'.repeat(n)}`),
  fc.constantFrom(
    'subscription { __schema { types { name } } }',
    '{ __type(name: "Event") { name } }',
    'subscription { __typename }',
    `subscription { ${root} { n } } subscription { pair(stream: "s") { n } }`,
    `subscription { events(stream: """s""", topic: "\\u0061") { n } }`,
    `subscription { events(stream: "\\uD800", topic: "a") { n } }`,
    `subscription { events(stream: "s", topic: "a", extra: 1) { n } }`,
    `subscription { events(stream: 1, topic: true) { n } }`,
    `subscription { events(stream: "{{ claims.sub }}", topic: "a") { n } }`,
    `subscription { mine(topic: "*") { n } }`,
    'subscription($f: Filter!) { search(filter: $f) { n } }',
  ),
)

export const queryArb: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...seeds.map((s) => s.query)), weight: 5 },
  { arbitrary: mutated(fc.constantFrom(...seeds.map((s) => s.query))), weight: 5 },
  { arbitrary: evilQuery, weight: 2 },
  { arbitrary: text(200), weight: 1 },
)

/** Always JSON-ish text: a GET carries variables as text. */
const variablesArb: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...seeds.filter((s) => s.variables).map((s) => JSON.stringify(s.variables))), weight: 4 },
  { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
  { arbitrary: mutated(fc.constantFrom(...seeds.filter((s) => s.variables).map((s) => JSON.stringify(s.variables)))), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `{"f":${'{"kind":"k","nested":'.repeat(n)}{"kind":"k"}${'}'.repeat(n)}}`), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => `{"s":${'['.repeat(n)}"s"${']'.repeat(n)},"t":"a"}`), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 30_000 }).map((n) => JSON.stringify({ s: 's'.repeat(n), t: 'a' })), weight: 1 },
  {
    arbitrary: fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"s":1e309,"t":"a"}', '{"s":null}', 'null', '[]', '"x"', '{'),
    weight: 1,
  },
  { arbitrary: text(100), weight: 1 },
)

const operationNameArb: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('Named', 'A', 'B', 'Q', '', '__proto__', 'constructor', 'hasOwnProperty', 'toString'), weight: 4 },
  { arbitrary: text(40), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => 'N'.repeat(n)), weight: 1 },
)

/** Text a header can carry: Latin-1 without CR, LF or NUL (what fetch lets a client send). */
export const headerValue = (maxLength: number): Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength }).map((s) => s.trim())

const toHeaderValue = (s: string) =>
  s
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '')
    .trim()

function positionCursors(pools: Pools): Arbitrary<string> {
  const positions = [
    '-1', '-0', '0', '00', '01', '1e3', '0x10', '1.5', '+1', ' 1', 'NaN', 'Infinity', '9007199254740991', '9007199254740993',
    '99999999999999999999999999999999', 'a_0_1k~5', '0~0~0', '1700000000000-0', '1700000000000-0~1-1', '18446744073709551615-18446744073709551615', '',
  ]
  return fc.tuple(fc.constantFrom(...pools.bindings), fc.constantFrom(...positions)).map(([binding, position]) => `1.${binding}.${position}`)
}

function cursorArb(pools: Pools): Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...pools.cursors), weight: 3 },
    { arbitrary: mutated(fc.constantFrom(...pools.cursors)), weight: 2 },
    { arbitrary: positionCursors(pools), weight: 3 },
    { arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => 'A'.repeat(n)), weight: 1 },
    { arbitrary: headerValue(200), weight: 1 },
  )
}

/** Present in `percent` % of requests. */
function sometimes<T>(arbitrary: Arbitrary<T>, percent: number): Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary, weight: percent })
}

function tokenArb(pools: Pools): Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...pools.validTokens), weight: 6 },
    { arbitrary: fc.constantFrom(...pools.hostileTokens), weight: 2 },
    { arbitrary: mutated(fc.constantFrom(...pools.validTokens)).map(toHeaderValue), weight: 2 },
    { arbitrary: headerValue(100), weight: 1 },
  )
}

const methodArb = fc.oneof(
  { arbitrary: fc.constant('GET'), weight: 12 },
  { arbitrary: fc.constant('POST'), weight: 6 },
  { arbitrary: fc.constantFrom('OPTIONS', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'PROPFIND', 'QUERY'), weight: 2 },
)

const pathArb = fc.oneof(
  { arbitrary: fc.constant('/graphql/stream'), weight: 20 },
  {
    arbitrary: fc.constantFrom(
      '/graphql/stream/', '/GRAPHQL/STREAM', '/graphql//stream', '/graphql/stream;a=b', '/graphql/%73tream', '/graphql/stream%00',
      '/./graphql/stream', '/graphql/stream/..', '/', '/favicon.ico', '/graphql', '/graphql/stream/extra', '/%2e%2e/%2e%2e/etc/passwd',
    ),
    weight: 2,
  },
  { arbitrary: fc.webPath(), weight: 1 },
)

const rawQueryArb = fc.oneof(
  { arbitrary: fc.constant(''), weight: 8 },
  { arbitrary: fc.constantFrom('&%', '&%ZZ=%ZZ', '&query', '&query=', '&=x', '&&&', '&a=%C3%28', '&variables=%7B', '&__proto__[x]=1', '&query[]=1', '&lastEventId=%FF%FE'), weight: 2 },
)

const headerName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,24}$/).filter(
  (name) => !['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'host', 'te', 'trailer'].includes(name.toLowerCase()),
)

const bodyArb: Arbitrary<string | Uint8Array<ArrayBuffer> | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }),
  text(300),
  fc.integer({ min: 1, max: 30_000 }).map((n) => '['.repeat(n)),
  fc.integer({ min: 1, max: 60_000 }).map((n) => JSON.stringify({ query: `subscription { ${root} { n } }`, pad: 'x'.repeat(n) })),
  fc.constantFrom('', 'null', '[]', '"query"', '{"query":1}', '{"query":["x"]}', '{"query":{"a":1}}', '{"query":"subscription { __typename }","variables":[]}'),
)

/** One hostile request: each part random, mutated, or left out. */
export function hostileRequest(pools: Pools): Arbitrary<HostileRequest> {
  const param = (name: string, value: Arbitrary<string>, percent: number) => sometimes(value.map((v): [string, string] => [name, v]), percent)
  return fc
    .record({
      method: methodArb,
      path: pathArb,
      query: sometimes(queryArb, 95),
      variables: sometimes(variablesArb, 35),
      operationName: sometimes(operationNameArb, 20),
      extensions: sometimes(fc.oneof(fc.constant('{}'), fc.json({ maxDepth: 3 }), text(50)), 15),
      from: param('from', fc.oneof({ arbitrary: fc.constantFrom('earliest', 'live'), weight: 4 }, { arbitrary: fc.constantFrom('EARLIEST', ''), weight: 1 }, { arbitrary: text(20), weight: 1 }), 40),
      lastEventIdParam: param('lastEventId', fc.oneof(cursorArb(pools), text(50)), 15),
      lastEventIdHeader: sometimes(cursorArb(pools).map(toHeaderValue), 25),
      token: sometimes(tokenArb(pools), 85),
      tokenWay: fc.constantFrom('header', 'cookie', 'query', 'all'),
      authorization: sometimes(fc.oneof(fc.constantFrom('Bearer', 'Bearer  ', 'Basic YTpi', 'bearer a b', 'Negotiate x'), headerValue(80)), 50),
      cookie: sometimes(fc.oneof(headerValue(200), fc.constantFrom('session=%E0%A4%A', 'session="', 'session', '=;=;', 'session=a; session=b')), 10),
      contentType: sometimes(fc.oneof(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'), headerValue(40)), 30),
      origin: sometimes(fc.oneof(fc.constantFrom('https://app.example.com', 'null', 'https://evil.example.com'), headerValue(60)), 50),
      extraHeaders: fc.array(fc.tuple(headerName, headerValue(100)), { maxLength: 3 }),
      rawQuery: rawQueryArb,
      body: bodyArb,
      bodyShape: fc.constantFrom('params', 'params-typed-wrong', 'raw'),
    })
    .map((r) => {
      const secrets: string[] = []
      const headers: [string, string][] = []
      const params: [string, string][] = []
      if (r.method !== 'POST' || r.bodyShape === 'raw') {
        if (r.query !== undefined) params.push(['query', r.query])
        if (r.variables !== undefined) params.push(['variables', r.variables])
        if (r.operationName !== undefined) params.push(['operationName', r.operationName])
        if (r.extensions !== undefined) params.push(['extensions', r.extensions])
      }
      if (r.from) params.push(r.from)
      if (r.lastEventIdParam) params.push(r.lastEventIdParam)
      if (r.lastEventIdHeader) headers.push(['Last-Event-ID', r.lastEventIdHeader])
      if (r.token) {
        secrets.push(r.token)
        const cleanToken = toHeaderValue(r.token)
        if ((r.tokenWay === 'header' || r.tokenWay === 'all') && cleanToken) headers.push(['Authorization', `Bearer ${cleanToken}`])
        if ((r.tokenWay === 'cookie' || r.tokenWay === 'all') && cleanToken) headers.push(['Cookie', `session=${cleanToken}`])
        if (r.tokenWay === 'query' || r.tokenWay === 'all') params.push(['access_token', r.token])
      }
      if (r.authorization !== undefined && !r.token) headers.push(['Authorization', r.authorization])
      if (r.cookie !== undefined) headers.push(['Cookie', r.cookie])
      if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType])
      if (r.origin !== undefined) headers.push(['Origin', r.origin])
      headers.push(...r.extraHeaders)
      const request: HostileRequest = { method: r.method, path: r.path, params, rawQuery: r.rawQuery, headers, secrets }
      if (r.method !== 'GET' && r.method !== 'HEAD') {
        if (r.bodyShape === 'raw') {
          if (r.body !== undefined) request.body = r.body
        } else {
          const wrong = r.bodyShape === 'params-typed-wrong'
          // Variables and extensions go in as they are, JSON or not: what a hand-made body may hold.
          const fields = [
            r.query === undefined ? '' : `"query":${JSON.stringify(wrong ? [r.query] : r.query)}`,
            r.variables === undefined ? '' : `"variables":${wrong ? JSON.stringify(r.variables) : r.variables}`,
            r.operationName === undefined ? '' : `"operationName":${JSON.stringify(wrong ? { name: r.operationName } : r.operationName)}`,
            r.extensions === undefined ? '' : `"extensions":${r.extensions}`,
          ]
          request.body = `{${fields.filter(Boolean).join(',')}}`
        }
      }
      return request
    })
}

/** The request as fetch sends it. */
export function toRequest(request: HostileRequest, baseUrl: string): Request {
  const search = new URLSearchParams(request.params).toString() + request.rawQuery
  const init: RequestInit = { method: request.method, headers: request.headers }
  if (request.body !== undefined) init.body = request.body
  return new Request(`${baseUrl}${request.path}?${search}`, init)
}
