/** Every fuzz property, in the order `make fuzz` runs them. */

import type { FuzzProperty } from './budget.js';
import { decoderProperties } from './decoder-properties.js';
import { expositionProperties } from './exposition-properties.js';
import { groupingKeyProperties } from './grouping-key-properties.js';
import { httpProperties } from './http-properties.js';

export const allProperties: readonly FuzzProperty[] = [...expositionProperties, ...groupingKeyProperties, ...decoderProperties, ...httpProperties];
