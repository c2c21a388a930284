/**
 * The demo page of `npm start`: a plain EventSource on the ticking demo subscription, with
 * counters that check the tick sequence (missed, twice), the Last-Event-ID a reload resumes
 * from, a pause that lets a backlog build up and replays it (those rows marked), gaps told in
 * words (the demo's in-memory log does not survive a restart), and a live chart of each event's
 * delay from publish to receipt.
 */
export const demoPage = /* HTML */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>edge-stream demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; color: #222 }
  code, pre { font: 13px ui-monospace, monospace }
  #state { padding: .2rem .5rem; border-radius: 4px; background: #eee }
  #state.open { background: #cfc } #state.closed { background: #fcc } #state.paused { background: #ffd78a }
  .counters b { font-variant-numeric: tabular-nums }
  .bad { color: #b00 }
  #notice { display: none; border-left: 4px solid #d80; background: #fff6e0; padding: .5rem .8rem; margin: .8rem 0 }
  #chart { border: 1px solid #ccc; background: #fafafa; display: block }
  #events { height: 18rem; overflow: auto; border: 1px solid #ccc; padding: .5rem; background: #fafafa; margin-top: .8rem }
  #events div { border-bottom: 1px solid #eee; padding: 2px 0 }
  #events .replayed { background: #e8f0ff }
  #events .replayed::after { content: '  replayed from the log'; color: #46c; font-size: 12px }
  .gap { color: #a60 } .error { color: #b00 } small { color: #666 }
</style>
</head>
<body>
<h1>edge-stream</h1>
<p>An <code>EventSource</code> on <code>/graphql/stream</code>. Every event's <code>id</code> is a cursor into the broker's log.
Cut the connection, pause, or reload the page: the stream resumes right after the last event received, none missed, none twice.</p>
<p class="counters">Connection: <span id="state">connecting</span> · received: <b id="count">0</b>
 · replayed: <b id="replayed">0</b> · missed: <b id="missed">0</b> · twice: <b id="dups">0</b></p>
<p>Last-Event-ID: <code id="last">(none)</code><br>
<small>Its last number is the event's sequence in the broker's log, which numbers the events of every subject:
this page reads only <code>demo.tick</code>, so the numbers of the <code>employeeUpdated</code> events between ticks are skipped.
<i>missed</i> checks the ticks' own counter <code>n</code> instead: each must be the one before plus 1.</small></p>
<p><button id="cut">Cut the connection</button> reconnects at once from the last id ·
<button id="pause">Pause 5 s</button> lets five events pile up in the log, then replays them</p>
<div id="notice"></div>
<p><small>Publish → receive delay of live events (ms), the last 60: <span id="latency">–</span></small></p>
<canvas id="chart" width="740" height="90"></canvas>
<pre>subscription { tick { n at } }</pre>
<div id="events"></div>
<script>
const query = 'subscription { tick { n at } }'
const $ = (id) => document.getElementById(id)
// The position survives a reload in sessionStorage; EventSource itself resumes after a network cut.
const stored = sessionStorage.getItem('lastN')
let lastN = stored === null ? undefined : Number(stored)
// A connection that resumed (from a stored id, or EventSource's own reconnect) first reads what the log kept meanwhile.
let count = 0, replayed = 0, missed = 0, dups = 0, source, resuming = false, openedAt = 0, pauseTimer
const delays = []

function show(text, cls) {
  const row = document.createElement('div')
  row.textContent = text
  if (cls) row.className = cls
  $('events').prepend(row)
  return row
}
function notice(text) {
  $('notice').textContent = text
  $('notice').style.display = 'block'
}
function setState(text, cls) {
  $('state').textContent = text
  $('state').className = cls
}
function counters() {
  $('count').textContent = count
  $('replayed').textContent = replayed
  $('missed').textContent = missed
  $('missed').className = missed ? 'bad' : ''
  $('dups').textContent = dups
  $('dups').className = dups ? 'bad' : ''
}
function drawChart() {
  const canvas = $('chart'), g = canvas.getContext('2d')
  g.clearRect(0, 0, canvas.width, canvas.height)
  if (delays.length === 0) return
  const top = Math.max(10, ...delays)
  const step = canvas.width / 60
  g.fillStyle = '#4a7'
  delays.forEach((ms, i) => {
    const h = Math.max(1, (ms / top) * (canvas.height - 14))
    g.fillRect(i * step + 1, canvas.height - h, step - 2, h)
  })
  g.fillStyle = '#666'
  g.font = '11px system-ui'
  g.fillText('max ' + top + ' ms', 4, 11)
  const sorted = [...delays].sort((a, b) => a - b)
  $('latency').textContent = 'last ' + delays[delays.length - 1] + ' ms, median ' + sorted[Math.floor(sorted.length / 2)] + ' ms'
}

function onTick(e) {
  const tick = JSON.parse(e.data).data.tick
  const receivedAt = Date.now()
  // Published before this resumed connection opened: it waited in the log while the page was away.
  const fromLog = resuming && Date.parse(tick.at) < openedAt
  if (lastN !== undefined) {
    if (tick.n <= lastN) dups++
    else missed += tick.n - lastN - 1
  }
  lastN = Math.max(lastN ?? tick.n, tick.n)
  count++
  if (fromLog) replayed++
  else {
    delays.push(Math.max(0, receivedAt - Date.parse(tick.at)))
    if (delays.length > 60) delays.shift()
    drawChart()
  }
  counters()
  $('last').textContent = e.lastEventId
  sessionStorage.setItem('lastEventId', e.lastEventId)
  sessionStorage.setItem('lastN', lastN)
  show('#' + tick.n + ' at ' + tick.at + '   id ' + e.lastEventId, fromLog ? 'replayed' : '')
}

function onGap(e) {
  const gap = JSON.parse(e.data)
  // The counter of the ticks that follow has nothing to do with the ones before: start counting afresh.
  lastN = undefined
  sessionStorage.removeItem('lastN')
  if (gap.reason === 'unknown-position') {
    notice('The server does not know the position this page had (' + gap.requested + '): it restarted, and the demo\\'s broker ' +
      'is in memory, so its log started again from nothing. The stream continues from the start of the new log; nothing here ' +
      'was missed or received twice, the old events simply no longer exist. With NATS JetStream, Kafka or Redis the log ' +
      'outlives a restart of edge-stream and the stream resumes exactly where it was.')
    show('-- the server restarted with a new, empty log: reading it from its start --', 'gap')
  } else {
    notice('Events after ' + gap.requested + ' were deleted by the log\\'s retention before this page came back: ' +
      'the stream continues from the oldest event still kept.')
    show('-- events deleted by retention: continuing from the oldest kept --', 'gap')
  }
}

function connect(lastEventId) {
  const params = new URLSearchParams({ query })
  if (lastEventId) params.set('lastEventId', lastEventId)
  show(lastEventId ? '-- resuming after ' + lastEventId + ' --' : '-- new events only --', 'gap')
  resuming = Boolean(lastEventId)
  source = new EventSource('/graphql/stream?' + params)
  source.onopen = () => {
    openedAt = Date.now()
    setState('open', 'open')
  }
  source.onerror = () => {
    // EventSource reconnects by itself (network cut, server restart) with the last id: a resume too.
    resuming = true
    setState('reconnecting', 'closed')
  }
  source.addEventListener('next', onTick)
  source.addEventListener('gap', onGap)
  source.addEventListener('error', (e) => { if (e.data) show('error: ' + e.data, 'error') })
  source.addEventListener('complete', () => source.close())
}

$('cut').onclick = () => {
  clearTimeout(pauseTimer)
  source.close()
  show('-- connection cut --', 'gap')
  connect(sessionStorage.getItem('lastEventId'))
}
$('pause').onclick = () => {
  clearTimeout(pauseTimer)
  source.close()
  setState('paused', 'paused')
  show('-- paused for 5 s: events keep going into the log --', 'gap')
  pauseTimer = setTimeout(() => connect(sessionStorage.getItem('lastEventId')), 5000)
}
connect(sessionStorage.getItem('lastEventId'))
</script>
</body>
</html>
`
