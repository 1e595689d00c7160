// cluster-key-slot (the slot function ioredis uses) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0–16383) of a key, honouring a {hash tag}. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
