// The stream on Vercel's Node.js runtime; vercel.json rewrites /graphql/stream here
// (the function still sees the path the browser asked for) and sets its maxDuration.
export { GET, POST, OPTIONS } from '../src/runtime/vercel-node'
