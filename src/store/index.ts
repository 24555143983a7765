// The storage entry points the rest of the controller uses.
export * from './types.js';
export { openControlStore, readControlState, ControlJournalCorruptError } from './control.js';
export { openStoreBackend, type StoreBackend, type StoreKind, type StoreSettings } from './open.js';
export { acquireLock, LOCK_FILE } from './lock.js';
export { openItemStore } from './items.js';
export { LogFormatError } from './record.js';
