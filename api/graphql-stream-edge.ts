// The stream on Vercel's Edge runtime: point the rewrite in vercel.json here instead
// of /api/graphql-stream to use it. Vercel reads `config` from this file itself.
export const config = { runtime: 'edge' }

export { default } from '../src/runtime/vercel'
