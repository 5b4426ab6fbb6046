import { describe, test } from '@jest/globals';
import { httpProperties } from '../../fuzz/http-properties.js';
import { unitRun } from './unit-run.js';

// The reduced run of the HTTP surface properties; `make fuzz` runs them at full size.
describe('the HTTP surface under hostile requests', () => {
  test.each(httpProperties.map((p) => [p.name, p] as const))('%s', async (_name, property) => {
    const note = await property.run(unitRun(property));
    if (process.env['FUZZ_VERBOSE'] !== undefined) console.log(note);
  });
});
