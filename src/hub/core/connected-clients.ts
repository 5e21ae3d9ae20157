import type { ClientLink, ClientSubscriptionKind } from './client-link.js';

/**
 * The registry of connected clients: identity (`deviceId` or `deviceId/moduleId`) → its live
 * links, whatever the protocol. Transports add a link once the client is authenticated and remove
 * it when the connection closes; the core asks it where to deliver an operation.
 *
 * An identity normally has one link; two happen briefly while a reconnecting client's new
 * connection takes over the old one, and the newest link is the one the core uses.
 */
export class ConnectedClients {
  private readonly links = new Map<string, ClientLink[]>();
  private readonly removedListeners: Array<(link: ClientLink) => void> = [];
  private readonly changedListeners: Array<(identity: string) => void> = [];

  /** Calls `listener` with every link removed from now on (calls in flight through it end). */
  onRemoved(listener: (link: ClientLink) => void): void {
    this.removedListeners.push(listener);
  }

  /**
   * Calls `listener` with the identity whenever one of its links is added or removed, or a
   * transport says its subscriptions changed (`changed`): the upstream relay follows them.
   */
  onChanged(listener: (identity: string) => void): void {
    this.changedListeners.push(listener);
  }

  /** A transport tells that a link of `identity` subscribed (or stopped) to something. */
  changed(identity: string): void {
    for (const listener of this.changedListeners) listener(identity);
  }

  /** Registers a live link; returns the function that removes it (idempotent; `remove` does the same). */
  add(link: ClientLink): () => void {
    this.register(link);
    return () => this.remove(link);
  }

  /**
   * Registers a live link, to be removed with `remove`: no remover closure is kept per link (an
   * MQTT connection keeps its link; issue 20, memory per idle connection).
   */
  register(link: ClientLink): void {
    let list = this.links.get(link.identity);
    if (list === undefined) this.links.set(link.identity, (list = []));
    list.push(link);
    this.changed(link.identity);
  }

  /** Removes a link registered before; a second call, or one for a link never added, does nothing. */
  remove(link: ClientLink): void {
    const current = this.links.get(link.identity);
    if (current === undefined) return;
    const index = current.indexOf(link);
    if (index < 0) return;
    current.splice(index, 1);
    if (current.length === 0) this.links.delete(link.identity);
    for (const listener of this.removedListeners) listener(link);
    this.changed(link.identity);
  }

  /** The newest live link of `identity` subscribed to `kind`, if any. */
  linkFor(identity: string, kind: ClientSubscriptionKind): ClientLink | undefined {
    const list = this.links.get(identity);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const link = list[i]!;
      if (link.subscribed(kind)) return link;
    }
    return undefined;
  }

  /** Whether `identity` has any live link. */
  isConnected(identity: string): boolean {
    return this.links.has(identity);
  }

  /** Connected identities with their links' protocols (diagnostics). */
  list(): Array<{ identity: string; protocols: string[] }> {
    return [...this.links].map(([identity, list]) => ({ identity, protocols: list.map((l) => l.protocol) }));
  }
}
