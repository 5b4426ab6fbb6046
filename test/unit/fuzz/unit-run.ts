import { UNIT_RUNS, baseSeed, noProbe, propertySeed, shareOf, type FuzzProperty, type FuzzRun } from '../../fuzz/budget.js';
import { allProperties } from '../../fuzz/properties.js';

/** The unit tier's share of a property: about UNIT_RUNS inputs over all properties. */
export function unitRun(property: FuzzProperty): FuzzRun {
  return { runs: shareOf(UNIT_RUNS, property, allProperties), seed: propertySeed(baseSeed(), property.name), probe: noProbe };
}
