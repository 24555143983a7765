import { openControlStore } from '../../src/store/control.js';
import { controlStoreContract } from './store-control.contract.js';

controlStoreContract('lowdb + durable JSON file', openControlStore);
