// `starling --print-config`: the effective configuration as YAML that could be saved and used
// as a config file, each value not a default marked with where it came from.

import { Document, isScalar } from 'yaml';
import { formatOrigin } from './errors.js';
import type { LoadedConfig } from './load.js';
import { parseKey } from './overrides.js';

export function printConfig(loaded: LoadedConfig): string {
  const doc = new Document(loaded.config);
  doc.commentBefore =
    ' Effective Starling configuration: schema defaults, then ' +
    (loaded.file ?? 'no config file') +
    ', then STARLING_* environment variables, then flags.\n' +
    ' A comment names where a value came from; values without one are defaults.';
  for (const [key, origin] of loaded.origins) {
    const segments = parseKey(key);
    if (!segments || origin.kind === 'default') continue;
    const node = doc.getIn(segments, true);
    if (isScalar(node)) node.comment = ` ${formatOrigin(origin)}`;
  }
  return doc.toString({ lineWidth: 0 });
}
