import { openItemStore } from '../../src/store/items.js';
import { itemStoreContract } from './store-items.contract.js';

itemStoreContract('per-topic append-only log', openItemStore);
