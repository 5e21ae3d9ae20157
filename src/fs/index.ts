export { writeFileAtomic } from './write-file-atomic.js';
export { DataDirLock } from './data-dir-lock.js';
