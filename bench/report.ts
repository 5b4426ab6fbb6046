/**
 * The results: rows of one metric each, a cell per gateway, the ratio Lethe / Pushgateway, and
 * the table (markdown, so that docs/benchmarks.md can show it as printed) and JSON written from them.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { GatewayKind, GatewaySpec } from './gateways.js';
import { checkReport, formatRatio, formatTargets, formatValue, type CheckedRow, type Target, type Unit } from './targets.js';

export type { Unit } from './targets.js';

export interface Cell {
  /** The measurement in the row's unit; absent when the gateway broke or was not measured. */
  readonly value?: number;
  /** Why there is no value ("broke: …", "not measured yet"), or a remark on it. */
  readonly note?: string;
  /** Raw samples behind the value, for the JSON. */
  readonly samples?: readonly number[];
}

export interface Row {
  readonly id: string;
  readonly metric: string;
  readonly unit: Unit;
  /** Whether a higher value is better (throughput) or a lower one (latency, memory, time). */
  readonly better: 'higher' | 'lower';
  /** Lethe's targets (bench/targets.ts), shown in the table and checked by --check. */
  readonly targets?: readonly Target[];
  /** Only Lethe is measured (e.g. forgetting, which the Pushgateway cannot do). */
  readonly letheOnly?: boolean;
  readonly cells: Partial<Record<GatewayKind, Cell>>;
}

export class Results {
  readonly rows: Row[] = [];
  private readonly byId = new Map<string, Row>();

  define(row: Omit<Row, 'cells'>): void {
    const full: Row = { ...row, cells: {} };
    this.rows.push(full);
    this.byId.set(row.id, full);
  }

  set(id: string, kind: GatewayKind, cell: Cell): void {
    const row = this.byId.get(id);
    if (row === undefined) throw new Error(`no row ${id}`);
    row.cells[kind] = cell;
  }

  /**
   * A gateway broke: the first row of `prefix` it has no cell in yet (the first of `at`, the step
   * that broke, when given) says why, the later ones that they were not reached.
   */
  broke(prefix: string, kind: GatewayKind, why: string, at?: string): void {
    const open = this.rows.filter((row) => row.id.startsWith(prefix) && row.cells[kind] === undefined);
    const first = open.find((row) => at !== undefined && row.id.startsWith(at)) ?? open[0];
    for (const row of open) row.cells[kind] = { note: row === first ? `broke: ${why}` : 'not reached' };
  }

  /** Marks every row of `prefix` that has no cell yet for `kind` with `note`. */
  fill(prefix: string, kind: GatewayKind, note: string): void {
    for (const row of this.rows) if (row.id.startsWith(prefix) && row.cells[kind] === undefined) row.cells[kind] = { note };
  }
}

/** Lethe's value over the Pushgateway's; undefined unless both were measured. */
export function ratio(row: Row, other: GatewayKind): number | undefined {
  const a = row.cells.lethe?.value;
  const b = row.cells[other]?.value;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

function formatCell(cell: Cell | undefined, unit: Unit): string {
  if (cell === undefined) return '—';
  if (cell.value === undefined) return cell.note ?? '—';
  const text = formatValue(cell.value, unit);
  return cell.note === undefined ? text : `${text} (${cell.note})`;
}

/** The rows as the target check sees them: Lethe against each Pushgateway that could run. */
export function checkedRows(results: Results, specs: readonly GatewaySpec[]): CheckedRow[] {
  const others = specs.filter((s) => s.kind !== 'lethe' && s.missing === undefined);
  return results.rows.map((row) => ({
    metric: row.metric,
    unit: row.unit,
    targets: row.targets ?? [],
    subject: row.cells.lethe,
    references: row.letheOnly === true ? [] : others.map((s) => ({ title: s.title, short: s.version, cell: row.cells[s.kind] })),
  }));
}

/** Which rows miss their targets (printed after the table; `make bench ARGS=--check` fails on them). */
export function check(results: Results, specs: readonly GatewaySpec[]): { ok: boolean; lines: string[] } {
  return checkReport(checkedRows(results, specs));
}

/** The markdown table: metric, Lethe, then each Pushgateway with the ratio Lethe / it, target. */
export function table(results: Results, specs: readonly GatewaySpec[]): string {
  const others = specs.filter((s) => s.kind !== 'lethe');
  const head = ['metric', 'Lethe', ...others.flatMap((s) => [s.title, `ratio vs ${s.version}`]), 'target (Lethe)'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const row of results.rows) {
    const cells = [
      row.metric,
      formatCell(row.cells.lethe, row.unit),
      ...others.flatMap((s) => {
        if (row.letheOnly === true) return ['n/a', ''];
        const r = ratio(row, s.kind);
        return [formatCell(row.cells[s.kind], row.unit), r === undefined ? '' : formatRatio(r)];
      }),
      formatTargets(row.targets ?? [], row.unit),
    ];
    lines.push(`| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.versions.node,
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}`;
}

export interface Report {
  readonly date: string;
  readonly machine: Machine;
  readonly seconds: number;
  readonly gateways: readonly { kind: GatewayKind; title: string; version: string; missing?: string }[];
  readonly method: readonly string[];
  readonly rows: readonly (Row & { ratios: Partial<Record<GatewayKind, number>> })[];
  readonly table: string;
  /** The target check's outcome: whether every target held, and the rows that missed. */
  readonly check: { readonly ok: boolean; readonly lines: readonly string[] };
}

export function buildReport(results: Results, specs: readonly GatewaySpec[], started: Date, seconds: number, method: readonly string[]): Report {
  return {
    date: started.toISOString(),
    machine: machine(),
    seconds: Math.round(seconds),
    gateways: specs.map((s) => ({ kind: s.kind, title: s.title, version: s.version, ...(s.missing === undefined ? {} : { missing: s.missing }) })),
    method,
    rows: results.rows.map((row) => {
      const ratios: Partial<Record<GatewayKind, number>> = {};
      for (const s of specs) {
        const r = s.kind === 'lethe' ? undefined : ratio(row, s.kind);
        if (r !== undefined) ratios[s.kind] = Number(r.toPrecision(4));
      }
      return { ...row, ratios };
    }),
    table: table(results, specs),
    check: check(results, specs),
  };
}

/** Writes the report as bench/results/<date>.json (via a .tmp file, renamed when complete). */
export function writeReport(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const name = `${report.date.replaceAll(':', '').replace(/\.\d+Z$/, 'Z')}.json`;
  const file = join(dir, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}
