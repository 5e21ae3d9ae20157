import type { TwinRecord, TwinStore } from './twin-store.js';

/**
 * Twins in memory (config `store.persistent: false`): lost with the process. Records are kept as
 * JSON text so a caller can never change a stored twin through an object it holds, as with RocksDB.
 */
export class MemoryTwinStore implements TwinStore {
  readonly durable = false;
  private readonly records = new Map<string, string>();
  private closed = false;

  async open(): Promise<void> {}

  async read(twinId: string): Promise<TwinRecord> {
    this.check();
    const text = this.records.get(twinId);
    return text === undefined ? { twin: undefined, delivered: undefined } : (JSON.parse(text) as TwinRecord);
  }

  async write(twinId: string, record: TwinRecord): Promise<void> {
    this.check();
    this.records.set(twinId, JSON.stringify(record));
  }

  async remove(twinId: string): Promise<void> {
    this.check();
    this.records.delete(twinId);
  }

  async ids(): Promise<string[]> {
    this.check();
    return [...this.records.keys()].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('the twin store is closed');
  }
}
