// The resilience layer's public surface.
export * from './activity-interceptor';
export * from './backend-answered';
export * from './backend-guard';
export * from './bulkhead';
export * from './circuit-breaker';
export * from './clock';
export * from './config';
export * from './duration';
export * from './errors';
export * from './metrics';
