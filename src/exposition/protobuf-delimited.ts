/**
 * The delimited protobuf format: a sequence of io.prometheus.client.MetricFamily messages,
 * each preceded by its length as a varint, until the end of the body.
 *
 *   MetricFamily   1 name  2 help  3 type (enum)  4 metric (repeated Metric)  5 unit
 *   MetricType     COUNTER=0 GAUGE=1 SUMMARY=2 UNTYPED=3 HISTOGRAM=4 GAUGE_HISTOGRAM=5
 *
 * As upstream reads a push: a family name seen twice keeps the last family (at the place the
 * name first appeared); an unset type is COUNTER; help is undefined when the field is absent and
 * '' when present but empty; the unit is not kept. Truncated or malformed input is a
 * BadRequestError naming the message and byte offset. Unlike upstream, a type number outside the
 * enum is refused too (upstream stores it, and then every text scrape fails).
 */

import { BadRequestError, ErrorCode } from '../errors.js';
import type { MetricFamily, MetricType } from '../model/index.js';
import { writeMetric, writeString } from './protobuf-metric-encode.js';
import { copyRests, decodeMetric, readString, toMetric, type MetricParts } from './protobuf-metric.js';
import {
  LENGTH_DELIMITED,
  VARINT,
  WireFormatError,
  createReader,
  createWriter,
  endMessage,
  enterMessage,
  leaveMessage,
  readInt32,
  readTag,
  skipField,
  writeTag,
  writeVarint,
  writerBytes,
  type WireReader,
} from './protobuf-wire.js';

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'];
const TYPE_NUMBER: Readonly<Record<MetricType, number>> = {
  counter: 0,
  gauge: 1,
  summary: 2,
  untyped: 3,
  histogram: 4,
  gaugehistogram: 5,
};

interface FamilyParts {
  readonly name: string;
  readonly help: string | undefined;
  readonly typeNumber: number;
  readonly metrics: readonly MetricParts[];
  /** Each metric's kept bytes (see Metric.protobufRest). */
  readonly rests: readonly Uint8Array[];
}

/** Decodes a delimited protobuf push body. */
export function decodeProtobufDelimited(body: Uint8Array): MetricFamily[] {
  const families = new Map<string, FamilyParts>();
  const r = createReader(body);
  for (let index = 1; r.pos < r.end; index++) {
    const start = r.pos;
    try {
      const family = decodeFamily(r);
      families.set(family.name, family);
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err;
      throw new BadRequestError(
        ErrorCode.badBody,
        `protobuf format parsing error in message ${index} (at byte ${start}): ${err.message}`,
        { cause: err },
      );
    }
  }
  return [...families.values()].map(toFamily);
}

/** Decodes the length-prefixed MetricFamily at r.pos. */
function decodeFamily(r: WireReader): FamilyParts {
  const outer = enterMessage(r);
  let name = '';
  let help: string | undefined;
  let typeNumber = 0;
  const metrics: MetricParts[] = [];
  while (r.pos < r.end) {
    readTag(r);
    const { field, wireType } = r;
    if (field === 1 && wireType === LENGTH_DELIMITED) name = readString(r);
    else if (field === 2 && wireType === LENGTH_DELIMITED) help = readString(r);
    else if (field === 3 && wireType === VARINT) typeNumber = readInt32(r);
    else if (field === 4 && wireType === LENGTH_DELIMITED) metrics.push(decodeMetric(r));
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { name, help, typeNumber, metrics, rests: copyRests(r.buf, metrics) };
}

function toFamily(parts: FamilyParts): MetricFamily {
  const { name, help } = parts;
  const type = TYPES[parts.typeNumber];
  if (type === undefined) {
    throw new BadRequestError(
      ErrorCode.badBody,
      `protobuf format parsing error: unknown metric type ${parts.typeNumber} for family ${JSON.stringify(name)}`,
    );
  }
  const metrics = parts.metrics.map((metric, i) => toMetric(metric, type, parts.rests[i] ?? new Uint8Array(0)));
  return help === undefined ? { name, type, metrics } : { name, help, type, metrics };
}

/**
 * Encodes one family as a length-prefixed MetricFamily: name, help (only when defined), type,
 * then each metric (labels, then its kept protobuf bytes or its typed value fields).
 */
export function encodeFamilyDelimited(family: MetricFamily): Uint8Array {
  const metrics = family.metrics;
  const w = createWriter(64 + metrics.length * 64);
  writeString(w, 1, family.name);
  if (family.help !== undefined) writeString(w, 2, family.help);
  writeTag(w, 3, VARINT);
  writeVarint(w, TYPE_NUMBER[family.type]);
  for (const metric of metrics) writeMetric(w, metric, family.type);
  endMessage(w, 0, 0);
  return writerBytes(w);
}
