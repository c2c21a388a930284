/**
 * Imported for its effect: Node 20 has no global WebSocket, which nats-core's wsconnect needs
 * (without one the connect never settles), so `ws` becomes it. Later Node versions keep their own.
 */
import WebSocket from 'ws'

globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket
