import type { Label } from '../model/index.js';

/**
 * One copy of what many stored groups repeat, for the embedded store: the Label object of a
 * body label pair (`code="200"`, `path="/api/v1/items/3"` pushed by every instance of a job),
 * and a family's name and help text. Each push and each restored record is a fresh string per
 * occurrence otherwise: at 10,000 groups of the same job, names, help and body labels were a
 * quarter of the stored data (docs/operations.md, "Memory").
 *
 * Only a deduplication: nothing compares these objects by identity, so forgetting them is
 * harmless. That is how it stays bounded: once it holds `limit` entries it starts again empty,
 * so at most `limit` entries whose groups are gone stay alive (about 100 bytes each), and a store
 * whose label values are all different pays one map lookup per label and keeps nothing for long.
 * Labels of the grouping key are not taken: they belong to one group (its GroupingKey has them).
 */
export class SharedText {
  private labels = new Map<string, Map<string, Label>>();
  private texts = new Map<string, string>();
  private entries = 0;

  constructor(private readonly limit = 16_384) {}

  /** The Label object kept for this pair, else `made` (or a new one), kept from now on. */
  label(name: string, value: string, made?: Label): Label {
    const seen = this.labels.get(name)?.get(value);
    if (seen !== undefined) return seen;
    this.makeRoom();
    const kept = made ?? { name, value };
    const byValue = this.labels.get(name);
    if (byValue === undefined) this.labels.set(name, new Map([[value, kept]]));
    else byValue.set(value, kept);
    return kept;
  }

  /** The string kept equal to `s` (a family name or help), else `s`, kept from now on. */
  text(s: string): string {
    const seen = this.texts.get(s);
    if (seen !== undefined) return seen;
    this.makeRoom();
    this.texts.set(s, s);
    return s;
  }

  private makeRoom(): void {
    if (this.entries >= this.limit) {
      this.labels = new Map();
      this.texts = new Map();
      this.entries = 0;
    }
    this.entries++;
  }
}
