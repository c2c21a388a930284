/** The demo page: a plain EventSource, each event, and the Last-Event-ID a reload resumes from. */
export const demoPage = /* HTML */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>edge-stream demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; color: #222 }
  code, pre { font: 13px ui-monospace, monospace }
  #state { padding: .2rem .5rem; border-radius: 4px; background: #eee }
  #state.open { background: #cfc } #state.closed { background: #fcc }
  #events { height: 22rem; overflow: auto; border: 1px solid #ccc; padding: .5rem; background: #fafafa }
  #events div { border-bottom: 1px solid #eee; padding: 2px 0 }
  .gap { color: #a60 } .error { color: #b00 }
</style>
</head>
<body>
<h1>edge-stream</h1>
<p>An <code>EventSource</code> on <code>/graphql/stream</code>. Every event's <code>id</code> is a cursor into the broker's log.
Cut the network or reload the page: the stream resumes right after the last event shown, none lost, none twice.</p>
<p>Connection: <span id="state">connecting</span> · events received: <b id="count">0</b> · duplicates: <b id="dups">0</b></p>
<p>Last-Event-ID: <code id="last">(none)</code></p>
<p><button id="cut">Cut the connection</button> (reconnects from the last id)</p>
<pre>subscription { tick { n at } }</pre>
<div id="events"></div>
<script>
const query = 'subscription { tick { n at } }'
// The position survives a reload in sessionStorage; EventSource itself resumes after a cut.
let count = 0, dups = 0, lastN = Number(sessionStorage.getItem('lastN') || 0), source
const $ = (id) => document.getElementById(id)
function show(text, cls) {
  const row = document.createElement('div')
  row.textContent = text
  if (cls) row.className = cls
  $('events').prepend(row)
}
function connect(lastEventId) {
  const params = new URLSearchParams({ query })
  if (lastEventId) params.set('lastEventId', lastEventId)
  show(lastEventId ? '-- resuming after ' + lastEventId + ' --' : '-- new events only --', 'gap')
  source = new EventSource('/graphql/stream?' + params)
  source.onopen = () => { $('state').textContent = 'open'; $('state').className = 'open' }
  source.onerror = () => { $('state').textContent = 'reconnecting'; $('state').className = 'closed' }
  source.addEventListener('next', (e) => {
    const tick = JSON.parse(e.data).data.tick
    if (tick.n <= lastN) dups++
    lastN = Math.max(lastN, tick.n)
    count++
    $('count').textContent = count
    $('dups').textContent = dups
    $('last').textContent = e.lastEventId
    sessionStorage.setItem('lastEventId', e.lastEventId)
    sessionStorage.setItem('lastN', lastN)
    show('#' + tick.n + ' at ' + tick.at + '   id ' + e.lastEventId)
  })
  source.addEventListener('gap', (e) => show('gap: ' + e.data, 'gap'))
  source.addEventListener('error', (e) => { if (e.data) show('error: ' + e.data, 'error') })
  source.addEventListener('complete', () => source.close())
}
$('cut').onclick = () => { source.close(); show('-- connection cut --', 'gap'); connect(sessionStorage.getItem('lastEventId')) }
connect(sessionStorage.getItem('lastEventId'))
</script>
</body>
</html>
`
