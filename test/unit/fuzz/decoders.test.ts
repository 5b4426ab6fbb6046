import { describe, test } from '@jest/globals';
import { decoderProperties } from '../../fuzz/decoder-properties.js';
import { unitRun } from './unit-run.js';

// The reduced run of the request decoder properties; `make fuzz` runs them at full size.
describe('request decoders under hostile input', () => {
  test.each(decoderProperties.map((p) => [p.name, p] as const))('%s', async (_name, property) => {
    await property.run(unitRun(property));
  });
});
