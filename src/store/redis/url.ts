/**
 * Redis URLs without the client: what the configuration and the logs need, so that reading a
 * URL does not load ioredis (a standalone Lethe never does; connection.ts has the accepted forms).
 */

export const SCHEMES = /^(redis|rediss|valkey|valkeys|redis\+sentinel|rediss\+sentinel):\/\//;

export function isRedisUrl(url: string): boolean {
  return SCHEMES.test(url);
}

/** The URL without its password, for logs and the status page. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*:)[^@/]*@/, '$1$2***@');
}
