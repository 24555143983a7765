// The storage entry points the rest of the controller uses.
export * from './types.js';
export { openControlStore } from './control.js';
export { acquireLock, LOCK_FILE } from './lock.js';
export { openItemStore } from './items.js';
export { LogFormatError } from './record.js';
