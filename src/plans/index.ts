// The planner: a validated request + the tenant profile → ordered steps. Pure; imports only src/requests.
export * from './steps';
export * from './planner';
export * from './rollback';
