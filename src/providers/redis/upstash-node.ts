import { Redis } from '@upstash/redis'
import { upstashOptions, type UpstashClientFactory } from './upstash-client'

/** @upstash/redis for Node and Vercel. */
export const nodeUpstashClient: UpstashClientFactory = (settings, signal) => {
  const redis = new Redis(upstashOptions(settings, signal))
  return (args) => redis.exec(args)
}
