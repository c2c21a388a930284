import { describe, expect, it } from 'vitest'
import { EventStreamParser, type StreamEvent } from '../../support/event-stream-parser'

function parse(chunks: string[], lastEventId = '') {
  const events: StreamEvent[] = []
  const comments: string[] = []
  const retries: number[] = []
  const parser = new EventStreamParser({ event: (event) => events.push(event), comment: (text) => comments.push(text), retry: (ms) => retries.push(ms) }, lastEventId)
  for (const chunk of chunks) parser.push(chunk)
  return { events, comments, retries, lastEventId: parser.lastEventId }
}

describe('EventStreamParser', () => {
  it('reads the frames this server writes, split anywhere', () => {
    const stream = 'retry: 2000\n: ok\n\nid: 7\nevent: next\ndata: {"a":1}\n\n: ping\n\nevent: complete\ndata:\n\n'
    for (let split = 0; split <= stream.length; split++) {
      const { events, comments, retries } = parse([stream.slice(0, split), stream.slice(split)])
      expect(events).toEqual([
        { type: 'next', data: '{"a":1}', lastEventId: '7', id: '7' },
        { type: 'complete', data: '', lastEventId: '7' },
      ])
      expect(comments).toEqual([': ok', ': ping'])
      expect(retries).toEqual([2000])
    }
  })

  it('moves the last event ID on an id-only frame without dispatching, as EventSource does', () => {
    const { events, lastEventId } = parse(['id: 3\ndata: x\n\nid: 9\n\n'])
    expect(events.map((event) => event.lastEventId)).toEqual(['3'])
    expect(lastEventId).toBe('9')
  })

  it('follows the field rules: one space dropped, data lines joined, CRLF, bad retry and NUL ids ignored', () => {
    const { events, retries } = parse(['data:  two spaces\r\ndata\r\nretry: soon\r\nid: a\0b\r\n\r\n'], 'before')
    expect(events).toEqual([{ type: 'message', data: ' two spaces\n', lastEventId: 'before' }])
    expect(retries).toEqual([])
  })

  it('stops where it is told, dropping the rest as a cut connection would', () => {
    const events: StreamEvent[] = []
    const parser = new EventStreamParser({ event: (event) => events.push(event) })
    parser.push('data: 1\n\ndata: 2\n\ndata: 3\n\n', () => events.length < 2)
    parser.push('data: 4\n\n')
    expect(events.map((event) => event.data)).toEqual(['1', '2', '4'])
  })
})
