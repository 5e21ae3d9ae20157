import type { BrokerMessage } from './broker-message.js';
import { topicMatches } from './topic.js';

/**
 * Retained messages by topic. A subscribe scans them with the filter; fine for the thousands of
 * retained topics a gateway holds (a topic-level index would be the next step past that).
 */
export class RetainedStore {
  private readonly byTopic = new Map<string, BrokerMessage>();

  get size(): number {
    return this.byTopic.size;
  }

  set(message: BrokerMessage): void {
    this.byTopic.set(message.topic, message);
  }

  delete(topic: string): boolean {
    return this.byTopic.delete(topic);
  }

  forEachMatch(filter: string, visit: (message: BrokerMessage) => void): void {
    const nowMs = Date.now();
    for (const message of this.byTopic.values()) {
      if (message.expiresAtMs !== undefined && message.expiresAtMs <= nowMs) {
        this.byTopic.delete(message.topic);
        continue;
      }
      if (topicMatches(filter, message.topic)) visit(message);
    }
  }
}
