/**
 * Targets as data, and the check of a row against them (pure: test/unit/bench/targets.test.ts).
 *
 * A target bounds either the subject's value itself (`absolute`, in the row's unit) or its ratio
 * to each reference measured in the same run (`ratio`: Lethe over each Pushgateway in `make
 * bench`, the Redis store over the file store in `make bench-redis`). A row holds only when every
 * target holds against every reference that ran: a subject or a reference that broke or was not
 * measured is a miss, never a pass.
 */

export type Unit = 'req/s' | 'ms' | 's' | 'bytes' | 'B/series' | 'MiB';

export interface Target {
  readonly kind: 'ratio' | 'absolute';
  /** `≤`: at most the bound (latency, memory); `≥`: at least (throughput). */
  readonly op: '≤' | '≥';
  readonly bound: number;
}

/** Shorthands for row definitions. */
export const atMost = (bound: number): Target => ({ kind: 'ratio', op: '≤', bound });
export const atLeast = (bound: number): Target => ({ kind: 'ratio', op: '≥', bound });
export const atMostValue = (bound: number): Target => ({ kind: 'absolute', op: '≤', bound });

/** A measurement, or why there is none. */
export interface Measured {
  readonly value?: number;
  readonly note?: string;
}

export interface Reference {
  /** Column title, e.g. "Pushgateway 1.5.1 (Debian)". */
  readonly title: string;
  /** Short name for ratios, e.g. "1.5.1". */
  readonly short: string;
  /** Undefined: it was run, but this row has nothing from it. */
  readonly cell: Measured | undefined;
}

export interface CheckedRow {
  readonly metric: string;
  readonly unit: Unit;
  readonly targets: readonly Target[];
  readonly subject: Measured | undefined;
  /** The references that ran in this run (those not installed are left out). */
  readonly references: readonly Reference[];
}

/** Why a row misses its targets; empty when every target holds (or the row has none). */
export function misses(row: CheckedRow): string[] {
  if (row.targets.length === 0) return [];
  const value = row.subject?.value;
  if (value === undefined || !Number.isFinite(value)) {
    const note = row.subject?.note;
    return [note === undefined ? 'not measured' : /^not /.test(note) ? note : `not measured (${note})`];
  }
  const out: string[] = [];
  for (const target of row.targets) {
    if (target.kind === 'absolute') {
      if (!holds(value, target)) out.push(`${formatValue(value, row.unit)}, target ${formatTarget(target, row.unit)}`);
      continue;
    }
    if (row.references.length === 0) {
      out.push(`no reference ran, so ${formatTarget(target, row.unit)} cannot be checked`);
      continue;
    }
    for (const ref of row.references) {
      const other = ref.cell?.value;
      if (other === undefined || !Number.isFinite(other) || other <= 0) {
        out.push(`no ratio vs ${ref.short}: ${ref.cell?.note ?? 'not measured'}`);
        continue;
      }
      const r = value / other;
      if (!holds(r, target)) out.push(`${formatRatio(r)} vs ${ref.short}, target ${formatTarget(target, row.unit)}`);
    }
  }
  return out;
}

function holds(x: number, target: Target): boolean {
  return target.op === '≤' ? x <= target.bound : x >= target.bound;
}

export function formatTarget(target: Target, unit: Unit): string {
  if (target.kind === 'ratio') return `${target.op} ${formatBound(target.bound)}`;
  if (unit === 'ms') return `${target.op} ${target.bound >= 1000 ? `${target.bound / 1000} s` : `${target.bound} ms`}`;
  return `${target.op} ${formatValue(target.bound, unit)}`;
}

/** The table's target column: every target of the row. */
export function formatTargets(targets: readonly Target[], unit: Unit): string {
  return targets.map((t) => formatTarget(t, unit)).join(', ');
}

/** The outcome line of a check over rows: which rows miss and why. */
export function checkReport(rows: readonly CheckedRow[]): { ok: boolean; lines: string[] } {
  const checked = rows.filter((r) => r.targets.length > 0);
  const failed = checked.map((r) => ({ metric: r.metric, why: misses(r) })).filter((r) => r.why.length > 0);
  if (failed.length === 0) return { ok: true, lines: [`check: all ${checked.length} targets hold`] };
  return {
    ok: false,
    lines: [`check: ${failed.length} of ${checked.length} rows miss their targets`, ...failed.map((r) => `  MISS ${r.metric}: ${r.why.join('; ')}`)],
  };
}

function significant(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 100) return Math.round(v).toLocaleString('en-US');
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function formatValue(v: number, unit: Unit): string {
  if (unit === 'bytes') {
    if (v >= 1024 * 1024) return `${significant(v / (1024 * 1024))} MiB`;
    if (v >= 1024) return `${significant(v / 1024)} KiB`;
    return `${Math.round(v)} B`;
  }
  if (unit === 'ms') return v >= 1000 ? `${significant(v / 1000)} s` : `${significant(v)} ms`;
  return `${significant(v)} ${unit}`;
}

export function formatRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** A target's ratio as written: 1 as 1.0, 0.25 as 0.25. */
function formatBound(bound: number): string {
  return `${Number.isInteger(bound) ? bound.toFixed(1) : String(bound)}×`;
}
