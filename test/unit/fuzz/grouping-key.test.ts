import { describe, test } from '@jest/globals';
import { groupingKeyProperties } from '../../fuzz/grouping-key-properties.js';
import { unitRun } from './unit-run.js';

// The reduced run of the grouping-key properties; `make fuzz` runs them at full size.
describe('grouping keys under hostile input', () => {
  test.each(groupingKeyProperties.map((p) => [p.name, p] as const))('%s', async (_name, property) => {
    await property.run(unitRun(property));
  });
});
