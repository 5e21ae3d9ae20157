export { LocalTwinStore } from './local-twin-store.js';
