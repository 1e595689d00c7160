// The patterns that ship with Prism, registered the same way a user's are.
import { PatternRegistry } from '../sdk/pattern';
import { kvProbePattern } from './kv-probe';

export function builtinPatterns(): PatternRegistry {
  return new PatternRegistry().register(kvProbePattern);
}
