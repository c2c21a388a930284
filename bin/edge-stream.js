#!/usr/bin/env node
// `npx edge-stream`: the Node entry, as `npm start` runs it from the source (README's variables).
import '../dist/runtime/node.js'
