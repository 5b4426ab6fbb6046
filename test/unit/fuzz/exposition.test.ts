import { describe, test } from '@jest/globals';
import { expositionProperties } from '../../fuzz/exposition-properties.js';
import { unitRun } from './unit-run.js';

// The reduced run of the exposition properties; `make fuzz` runs them at full size.
describe('exposition under hostile input', () => {
  test.each(expositionProperties.map((p) => [p.name, p] as const))('%s', async (_name, property) => {
    await property.run(unitRun(property));
  });
});
