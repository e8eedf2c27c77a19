export { type DeclaredHandler, HandleEvent } from './handlers.ts';
export { HERALD_OPTIONS, HeraldModule, type HeraldModuleOptions, HeraldOutbox } from './module.ts';
