// The tests' one in-memory control store (test/helpers/fakes.ts) behaves as the real ones do.
import { memoryStore } from '../helpers/fakes.js';
import { controlStoreBehaviour } from './store-control.contract.js';

controlStoreBehaviour('in memory (test/helpers/fakes.ts)', async (defaults) => memoryStore(defaults));
