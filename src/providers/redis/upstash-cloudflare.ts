import { Redis } from '@upstash/redis/cloudflare'
import { upstashOptions, type UpstashClientFactory } from './upstash-client'

/** @upstash/redis's Workers build: no Node globals, no `cache` fetch option. */
export const cloudflareUpstashClient: UpstashClientFactory = (settings, signal) => {
  const redis = new Redis(upstashOptions(settings, signal))
  return (args) => redis.exec(args)
}
