import { createRequire } from 'node:module';
import type { Logger } from '../../../log/index.js';
import type { WebSocketEngine, WebSocketEngineOptions } from './websocket-engine.js';
import { WsEngine } from './ws-engine.js';

/**
 * The official uWebSockets.js package name, as its authors publish it on GitHub (it is not on
 * the npm registry; packages there under similar names are repackages whose binaries cannot be
 * verified, and are never looked for).
 */
export const UWEBSOCKETS_PACKAGE = 'uWebSockets.js';

export interface LoadWebSocketEngineOptions extends WebSocketEngineOptions {
  readonly logger: Logger;
  /**
   * Where an operator's installation is looked for: a file whose node_modules chain is searched
   * (default: this module's, i.e. next to the installed Outpost).
   */
  readonly resolveFrom?: string;
}

/**
 * Picks the WebSocket engine and logs which one serves (`websocket.server`). `ws` serves. Whether
 * uWebSockets.js is installed is looked up (resolved, never loaded: no code of it runs) so the
 * line says so, and that it is not used: this build has no engine for it (docs/websocket.md).
 */
export function loadWebSocketEngine(options: LoadWebSocketEngineOptions): WebSocketEngine {
  const engine = new WsEngine(options);
  const uws = installedAt(options.resolveFrom ?? import.meta.url);
  if (uws === undefined) {
    options.logger.info({ event: 'websocket.server', server: engine.name, uWebSocketsJs: 'not installed' }, `WebSocket served by ${engine.name}`);
  } else {
    options.logger.info({ event: 'websocket.server', server: engine.name, uWebSocketsJs: 'installed, not used', path: uws, reason: 'this build has no uWebSockets.js engine' }, `WebSocket served by ${engine.name}`);
  }
  return engine;
}

/** The resolved entry of an installed uWebSockets.js, or undefined. */
function installedAt(resolveFrom: string): string | undefined {
  try {
    return createRequire(resolveFrom).resolve(UWEBSOCKETS_PACKAGE);
  } catch {
    return undefined;
  }
}
