/**
 * The static credentials file (--auth.static-file): what it accepts, that a bad file is refused
 * with a reason that never quotes a secret, and that a change is picked up while a bad change
 * leaves the previous credentials in force.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { ConfigError } from '../../../src/errors.js';
import { StaticAuthenticator, parseStaticCredentials } from '../../../src/gateway/index.js';
import { createMetrics } from '../../../src/observability/index.js';
import { eventually } from '../../harness/eventually.js';
import { counter } from './auth-app.js';
import { quietLogger } from '../../harness/logger.js';

const SECRET = 'a-very-secret-token-value';
const sha256 = '9b7c6c0e7e0bb5f4c8e0d8b8b4d2c6b7a3c3f2b9e1e0f2a6c1b0d9e8f7a6b5c4';

describe('parseStaticCredentials', () => {
  test('tokens (plain or as SHA-256) and users, each with a namespace, admin, or neither', () => {
    const parsed = parseStaticCredentials(
      JSON.stringify({
        tokens: [
          { name: 'ci', token: SECRET, namespace: 'team-a' },
          { name: 'ops', tokenSha256: sha256, admin: true },
        ],
        users: [{ name: 'jenkins', password: 'jenkins-password-0123' }],
      }),
    );
    expect([...parsed.tokens.values()]).toEqual([
      { source: 'static', name: 'ci', namespace: 'team-a', admin: false },
      { source: 'static', name: 'ops', admin: true },
    ]);
    expect(parsed.tokens.has(sha256)).toBe(true);
    expect(parsed.users.get('jenkins')?.principal).toEqual({ source: 'static', name: 'jenkins', admin: false });
  });

  test.each([
    ['not JSON', `{"tokens": [{"name": "ci", "token": "${SECRET}"`, /^not valid JSON/],
    ['a short token', JSON.stringify({ tokens: [{ name: 'ci', token: 'short' }] }), /tokens\.0\.token: must have at least 16 characters/],
    ['a bad namespace', JSON.stringify({ tokens: [{ name: 'ci', token: SECRET, namespace: 'Team_A' }] }), /tokens\.0\.namespace: must be a namespace name/],
    ['token and tokenSha256', JSON.stringify({ tokens: [{ name: 'ci', token: SECRET, tokenSha256: sha256 }] }), /needs exactly one of token and tokenSha256/],
    ['neither', JSON.stringify({ tokens: [{ name: 'ci' }] }), /needs exactly one of token and tokenSha256/],
    ['the same token twice', JSON.stringify({ tokens: [{ name: 'a', token: SECRET }, { name: 'b', token: SECRET }] }), /tokens\.1 \("b"\): the same token as an earlier entry/],
    ['two users of one name', JSON.stringify({ users: [{ name: 'u', password: SECRET }, { name: 'u', password: `${SECRET}2` }] }), /users\.1: a second user named "u"/],
    ['an unknown field', JSON.stringify({ tokens: [{ name: 'ci', token: SECRET, namespaces: ['a'] }] }), /tokens\.0: Unrecognized key/],
    ['a short password', JSON.stringify({ users: [{ name: 'u', password: 'pw' }] }), /users\.0\.password: must have at least 16 characters/],
  ])('%s is refused with a reason that quotes no secret', (_name, text, reason) => {
    let message = '';
    try {
      parseStaticCredentials(text);
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message).toMatch(reason);
    expect(message).not.toContain(SECRET);
  });
});

describe('StaticAuthenticator', () => {
  test('a bearer token it does not know is left to the next authenticator; a known user with a wrong password is refused', async () => {
    const auth = StaticAuthenticator.of(JSON.stringify({ tokens: [{ name: 'ci', token: SECRET, namespace: 'a' }], users: [{ name: 'u', password: 'the-right-password-1' }] }));
    expect(await auth.authenticate({ scheme: 'bearer', token: SECRET })).toEqual({ source: 'static', name: 'ci', namespace: 'a', admin: false });
    expect(await auth.authenticate({ scheme: 'bearer', token: 'unknown' })).toBeUndefined();
    expect(await auth.authenticate({ scheme: 'basic', user: 'nobody', password: 'x' })).toBeUndefined();
    await expect(auth.authenticate({ scheme: 'basic', user: 'u', password: 'the-wrong-password-1' })).rejects.toThrow('unknown user or wrong password');
    expect(await auth.authenticate({ scheme: 'basic', user: 'u', password: 'the-right-password-1' })).toMatchObject({ name: 'u' });
  });
});

describe('StaticAuthenticator.open: the file is watched', () => {
  let dir: string;
  let opened: StaticAuthenticator | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lethe-auth-'));
  });
  afterEach(() => {
    opened?.close();
    opened = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (file: string, tokens: Record<string, unknown>[]): void => writeFileSync(file, JSON.stringify({ tokens }));

  test('a file that cannot be read or parsed stops start-up, naming the flag', async () => {
    const registry = new Registry();
    const deps = { logger: quietLogger(), metrics: createMetrics(registry, 't') };
    await expect(StaticAuthenticator.open(join(dir, 'absent.json'), deps)).rejects.toThrow(ConfigError);
    const file = join(dir, 'auth.json');
    writeFileSync(file, `{"tokens": [{"name": "x", "token": "${SECRET}"`);
    const err = await StaticAuthenticator.open(file, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/--auth\.static-file=".*auth\.json": not valid JSON/);
    expect(String(err)).not.toContain(SECRET);
  });

  test('a change is picked up; a broken change keeps the previous credentials and is counted', async () => {
    const registry = new Registry();
    const file = join(dir, 'auth.json');
    write(file, [{ name: 'first', token: `${SECRET}-1`, namespace: 'a' }]);
    opened = await StaticAuthenticator.open(file, { logger: quietLogger(), metrics: createMetrics(registry, 't'), pollMs: 50 });
    const auth = opened;
    expect(await auth.authenticate({ scheme: 'bearer', token: `${SECRET}-1` })).toMatchObject({ name: 'first' });

    write(file, [{ name: 'second', token: `${SECRET}-2`, namespace: 'a' }]);
    await eventually(async () => (await auth.authenticate({ scheme: 'bearer', token: `${SECRET}-2` }))?.name === 'second', { timeout: 5_000, interval: 20 });
    expect(await auth.authenticate({ scheme: 'bearer', token: `${SECRET}-1` })).toBeUndefined();
    expect(await counter(registry, 'lethe_file_reloads_total', { file: 'static_auth', result: 'success' })).toBe(1);

    writeFileSync(file, '{ broken');
    await eventually(async () => (await counter(registry, 'lethe_file_reloads_total', { file: 'static_auth', result: 'error' })) === 1, { timeout: 5_000, interval: 20 });
    expect(await auth.authenticate({ scheme: 'bearer', token: `${SECRET}-2` })).toMatchObject({ name: 'second' });
  });
});
