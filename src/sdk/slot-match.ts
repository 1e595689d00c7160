// A slot bound to a backend by the config: what the matcher finds and the activities are built for.
import type { Capability } from '../drivers/capabilities';

export interface SlotMatch {
  pattern: string;
  slot: string;
  /** For an element of a list slot: its position in the config's list. */
  index?: number;
  backend: string;
  driver: string;
  requires: readonly Capability[];
}
