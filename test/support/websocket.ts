// Node 20 has no global WebSocket; nats-core's wsconnect needs one (the Node entry does the same).
import WebSocket from 'ws'

globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket
