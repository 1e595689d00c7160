// Errors of the session store's client API: each names what was wrong.
export type SessionStoreErrorCode =
  | 'SessionNotFound' // unknown, expired or deleted
  | 'SessionTooLarge' // the write would take the session over its size cap; nothing was written
  | 'InvalidTtl'
  | 'UnknownRegion'
  | 'InvalidArgument'
  | 'Conflict'; // too many concurrent writers to one session

export class SessionStoreError extends Error {
  constructor(
    readonly code: SessionStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SessionStoreError';
  }
}
