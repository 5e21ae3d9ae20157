import { twinStoreContract } from './twin-store-contract.js';

twinStoreContract('rocksdb');
