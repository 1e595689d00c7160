// The patterns that ship with Prism, registered the same way a user's are.
import { PatternRegistry } from '../sdk/pattern';
import { cdcPattern } from './cdc';
import { kvProbePattern } from './kv-probe';
import { multicastRegistryPattern } from './multicast-registry';
import { sessionStorePattern } from './session-store';
import { sagaPattern } from './saga';

export function builtinPatterns(): PatternRegistry {
  return new PatternRegistry()
    .register(kvProbePattern)
    .register(cdcPattern)
    .register(sessionStorePattern)
    .register(multicastRegistryPattern)
    .register(sagaPattern);
}
