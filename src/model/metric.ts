/**
 * The in-memory shape of pushed metrics. It follows io.prometheus.client.MetricFamily
 * (the protobuf the Pushgateway stores), so text and protobuf pushes end up alike.
 */

export type MetricType = 'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram' | 'gaugehistogram';

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Quantile {
  readonly quantile: number;
  readonly value: number;
}

export interface Bucket {
  readonly upperBound: number;
  /** Cumulative count; a float when the push used float counts. */
  readonly cumulativeCount: number;
}

export interface Summary {
  readonly sampleCount: number;
  readonly sampleSum: number;
  readonly quantiles: readonly Quantile[];
}

export interface Histogram {
  readonly sampleCount: number;
  readonly sampleSum: number;
  readonly buckets: readonly Bucket[];
  /** True when the histogram has native (sparse) buckets; only a protobuf push can carry them. */
  readonly native?: boolean;
}

export interface Metric {
  /** Labels in the order they were pushed; the store sorts them when it sanitises a push. */
  readonly labels: readonly Label[];
  /** Counter, gauge or untyped value. */
  readonly value?: number;
  readonly summary?: Summary;
  readonly histogram?: Histogram;
  /** Sample timestamp in milliseconds, when the push carried one (the store rejects it). */
  readonly timestampMs?: number;
  /**
   * For protobuf pushes: the encoded Metric message without its label fields (field 1), so a
   * protobuf scrape re-emits native histograms, exemplars and created timestamps unchanged.
   */
  readonly protobufRest?: Uint8Array;
}

export interface MetricFamily {
  readonly name: string;
  /** Undefined when the push set no help; an empty string when it set an empty one. */
  readonly help?: string;
  readonly type: MetricType;
  readonly metrics: readonly Metric[];
}
