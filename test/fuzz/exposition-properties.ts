/**
 * Properties of the exposition parsers and renderers under hostile input:
 * - parseText and decodeProtobufDelimited return families or throw BadRequestError, nothing
 *   else, within the time bound;
 * - whatever they return renders (text and protobuf) without throwing;
 * - text: parseText → renderFamily → parseText gives the same families (normalisations in
 *   family-equivalence.ts);
 * - protobuf: decodeProtobufDelimited → encodeFamilyDelimited → decodeProtobufDelimited is the
 *   identity, kept bytes included; text-pushed families survive the protobuf form as well (the
 *   store's persistence format).
 */

import fc from 'fast-check';
import { assertProperty } from './assert-property.js';
import { BadRequestError, ErrorCode } from '../../src/errors.js';
import { decodeProtobufDelimited, encodeFamilyDelimited, encodeUtf8, parseText, renderFamily } from '../../src/exposition/index.js';
import type { MetricFamily } from '../../src/model/index.js';
import type { FuzzProperty } from './budget.js';
import { concat, mutated } from './byte-mutations.js';
import { afterTextRoundTrip, ambiguousInText, difference, withoutProtobufRest } from './family-equivalence.js';
import { CALL_LIMIT_MS, check, outcomeOf } from './outcome.js';
import { hostileProtobufBody, largeProtobufBody } from './protobuf-arbitraries.js';
import { TEXT_TOKENS, hostileTextBody, largeTextBody, textBody } from './text-arbitraries.js';

function parsedText(body: Uint8Array, limitMs = CALL_LIMIT_MS): MetricFamily[] | undefined {
  const out = outcomeOf('parseText', () => parseText(body), [BadRequestError], limitMs);
  if (out.ok) return out.value;
  check(out.error.code === ErrorCode.badBody && out.error.message.startsWith('text format parsing error in line '), () => `unexpected refusal: ${out.error.code} ${out.error.message}`);
  return undefined;
}

function decodedProtobuf(body: Uint8Array, limitMs = CALL_LIMIT_MS): MetricFamily[] | undefined {
  const out = outcomeOf('decodeProtobufDelimited', () => decodeProtobufDelimited(body), [BadRequestError], limitMs);
  if (out.ok) return out.value;
  check(out.error.code === ErrorCode.badBody && out.error.message.startsWith('protobuf format parsing error'), () => `unexpected refusal: ${out.error.code} ${out.error.message}`);
  return undefined;
}

const renderText = (families: readonly MetricFamily[]): Uint8Array => encodeUtf8(families.map(renderFamily).join(''));
const encodeProtobuf = (families: readonly MetricFamily[]): Uint8Array => concat(...families.map(encodeFamilyDelimited));

/** Whatever a parser accepted can be rendered both ways, in time. */
function renders(families: readonly MetricFamily[]): void {
  outcomeOf('renderFamily', () => renderText(families), []);
  outcomeOf('encodeFamilyDelimited', () => encodeProtobuf(families), []);
}

const same = (b: Uint8Array): Uint8Array => b;

/**
 * Inputs of up to 1 MiB, bounded at 2 s: a linear parse takes about a tenth of that, a
 * quadratic one minutes.
 */
const MIB = 1 << 20;
const MIB_LIMIT_MS = 2000;
const megabyteBody = fc.oneof(
  fc.tuple(largeTextBody(MIB, MIB / 16), fc.constant('text' as const)),
  fc.tuple(mutated(largeTextBody(MIB, MIB / 16), TEXT_TOKENS, MIB), fc.constant('text' as const)),
  fc.tuple(largeProtobufBody(80_000, 10_000), fc.constant('protobuf' as const)),
);

export const expositionProperties: readonly FuzzProperty[] = [
  {
    name: 'parseText: hostile bytes give families or BadRequestError',
    weight: 20,
    run: (fuzz) =>
      assertProperty(fuzz, hostileTextBody, same, (body) => {
        const families = parsedText(body);
        if (families !== undefined) renders(families);
      }),
  },
  {
    name: 'parseText and decodeProtobufDelimited: 1 MiB inputs finish within 2 s (linear time)',
    weight: 0.3,
    run: (fuzz) =>
      assertProperty(fuzz, megabyteBody, ([body]) => body, ([body, format]) => {
        if (format === 'text') parsedText(body, MIB_LIMIT_MS);
        else decodedProtobuf(body, MIB_LIMIT_MS);
      }),
  },
  {
    name: 'parseText → renderFamily → parseText gives the same families',
    weight: 10,
    run: (fuzz) =>
      assertProperty(fuzz, fc.oneof(textBody, hostileTextBody), same, (body) => {
        const first = parsedText(body);
        if (first === undefined || ambiguousInText(first)) return;
        const rendered = renderText(first);
        const again = parsedText(rendered);
        check(again !== undefined, () => `rendered text was refused:\n${new TextDecoder().decode(rendered)}`);
        const diff = difference(afterTextRoundTrip(first), again);
        check(diff === '', () => `text round trip changed the families\n${diff}\nrendered:\n${new TextDecoder().decode(rendered)}`);
      }),
  },
  {
    name: 'decodeProtobufDelimited: hostile bytes give families or BadRequestError',
    weight: 20,
    run: (fuzz) =>
      assertProperty(fuzz, hostileProtobufBody, same, (body) => {
        const families = decodedProtobuf(body);
        if (families !== undefined) renders(families);
      }),
  },
  {
    name: 'decodeProtobufDelimited → encodeFamilyDelimited → decodeProtobufDelimited is the identity',
    weight: 10,
    run: (fuzz) =>
      assertProperty(fuzz, hostileProtobufBody, same, (body) => {
        const first = decodedProtobuf(body);
        if (first === undefined) return;
        const again = decodedProtobuf(encodeProtobuf(first));
        check(again !== undefined, () => 'the encoded families were refused');
        const diff = difference(first, again);
        check(diff === '', () => `protobuf round trip changed the families\n${diff}`);
      }),
  },
  {
    name: 'text-pushed families survive encodeFamilyDelimited → decodeProtobufDelimited',
    weight: 6,
    run: (fuzz) =>
      assertProperty(fuzz, fc.oneof(textBody, hostileTextBody), same, (body) => {
        const first = parsedText(body);
        if (first === undefined) return;
        const again = decodedProtobuf(encodeProtobuf(first));
        check(again !== undefined, () => 'the encoded families were refused');
        const diff = difference(first, withoutProtobufRest(again));
        check(diff === '', () => `protobuf form changed the families\n${diff}`);
      }),
  },
];
