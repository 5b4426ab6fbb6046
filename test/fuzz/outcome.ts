/**
 * What hostile input may do to the code under test: return, or throw one of the expected
 * LetheErrors, within a time bound. Anything else (another error type, an expected type with an
 * unexpected status, a call that runs too long) fails the property with a description.
 */

import { LetheError } from '../../src/errors.js';

/** Each call must finish within this (inputs are at most about 64 KiB). */
export const CALL_LIMIT_MS = 1000;

type LetheErrorClass = abstract new (...args: never[]) => LetheError;

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: LetheError };

function describeThrown(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${err.stack ?? ''}`;
  return String(err);
}

function checkThrown(err: unknown, allowed: readonly LetheErrorClass[], what: string): LetheError {
  if (err instanceof LetheError && allowed.some((c) => err instanceof c)) return err;
  throw new Error(`${what} threw ${err instanceof LetheError ? 'an unexpected LetheError' : 'a non-LetheError'}: ${describeThrown(err)}`);
}

function checkTime(started: number, limitMs: number, what: string): void {
  const took = performance.now() - started;
  if (took > limitMs) throw new Error(`${what} took ${took.toFixed(0)} ms (limit ${limitMs} ms)`);
}

/** Runs fn; its result, or the allowed LetheError it threw. */
export function outcomeOf<T>(what: string, fn: () => T, allowed: readonly LetheErrorClass[], limitMs = CALL_LIMIT_MS): Outcome<T> {
  const started = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: fn() };
  } catch (err) {
    result = { ok: false, error: checkThrown(err, allowed, what) };
  }
  checkTime(started, limitMs, what);
  return result;
}

export async function asyncOutcomeOf<T>(
  what: string,
  fn: () => Promise<T>,
  allowed: readonly LetheErrorClass[],
  limitMs = CALL_LIMIT_MS,
): Promise<Outcome<T>> {
  const started = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: await fn() };
  } catch (err) {
    result = { ok: false, error: checkThrown(err, allowed, what) };
  }
  checkTime(started, limitMs, what);
  return result;
}

/** Fails with a message (fast-check reports it with the counterexample). */
export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Error(message());
}
