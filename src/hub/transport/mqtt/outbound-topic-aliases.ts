/**
 * Topic aliases the hub assigns on PUBLISHes to one MQTT 5 client (section 3.3.2.3.4): the first
 * PUBLISH on a topic carries the topic and an alias, later ones an empty topic and the alias.
 * Made only for a client whose CONNECT announced a Topic Alias Maximum above 0; the mapping lives
 * as long as the network connection (MQTT-3.3.2-7), so a reconnect starts afresh.
 *
 * Policy: least recently used. When every alias is taken, the alias of the topic sent longest ago
 * is given to the new topic (sent with its full name, which rebinds the alias on the client,
 * MQTT 5 section 3.3.2.3.4). First-N (never reassign) was rejected: a subscriber's first topics are
 * often one-offs (retained messages on SUBSCRIBE, twin responses with a fresh `$rid` each), and
 * they would hold every alias for the life of the connection while the steady topics never got
 * one. LRU costs a Map delete and set per aliased message, paid only by clients that asked.
 */
export class OutboundTopicAliases {
  /** Topic → alias, in order of last use (oldest first: Map keeps insertion order). */
  private readonly byTopic = new Map<string, number>();
  /** Topic of each alias, to find the entry an alias belongs to when it is forgotten. */
  private readonly byAlias: (string | undefined)[] = [];
  /** Alias numbers returned by `forget`, reused before new ones. */
  private readonly free: number[] = [];

  /** @param maximum aliases 1..maximum may be used: the client's Topic Alias Maximum, capped by the hub. */
  constructor(readonly maximum: number) {}

  /**
   * The alias to send `topic` with. Positive: the client knows it, send an empty topic. Negative
   * (its negation is the alias): newly bound, send the full topic. A sign rather than an object,
   * so the per-message call allocates nothing.
   */
  aliasFor(topic: string): number {
    const known = this.byTopic.get(topic);
    if (known !== undefined) {
      // Most recently used goes last.
      this.byTopic.delete(topic);
      this.byTopic.set(topic, known);
      return known;
    }
    let alias = this.free.pop();
    if (alias === undefined) {
      if (this.byTopic.size < this.maximum) alias = this.byTopic.size + 1;
      else {
        const [oldest, reused] = this.byTopic.entries().next().value as [string, number];
        this.byTopic.delete(oldest);
        alias = reused;
      }
    }
    this.byTopic.set(topic, alias);
    this.byAlias[alias] = topic;
    return -alias;
  }

  /**
   * Drops a binding that `aliasFor` just made but whose PUBLISH was not sent (too large for the
   * client, or not encodable): the client never learnt it, so the alias must not be sent with an
   * empty topic until it is bound again with the full topic.
   */
  forget(alias: number): void {
    const topic = this.byAlias[alias];
    if (topic === undefined) return;
    this.byAlias[alias] = undefined;
    this.byTopic.delete(topic);
    this.free.push(alias);
  }

  get size(): number {
    return this.byTopic.size;
  }
}
