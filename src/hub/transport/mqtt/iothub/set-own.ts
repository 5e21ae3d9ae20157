/**
 * Stores `value` under `key` as an own data property of a plain object. Plain assignment is fine
 * for every key but "__proto__", where it would replace the object's prototype instead of storing
 * data; client-chosen property names must only ever be data (hub-message.ts invariant).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: NoInfer<T>): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
