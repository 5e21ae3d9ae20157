export { writeFileAtomic } from './write-file-atomic.js';
export { DataDirLock, type LockHolder } from './data-dir-lock.js';
