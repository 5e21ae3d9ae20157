export { Broker, type BrokerOptions, type BrokerCounters, type BrokerLimits } from './broker.js';
export { LAST_SESSION_PACKET_ID, Session, type DropReason, type QueueBudget, type SessionLink, type SessionLimits, type Outgoing } from './session.js';
export type { BrokerMessage, ForwardedProperties, QoS, Subscription } from './broker-message.js';
export { MemoryBrokerStore, type BrokerStore, type StoredSession, type LoadedBrokerState } from './broker-store.js';
export { checkTopicFilter, checkTopicName, parseSharedFilter, topicMatches, type TopicCheck } from './topic.js';
export { SubscriptionTrie } from './subscription-trie.js';
export { RocksBrokerStore } from './rocks-broker-store.js';
export { PacketIdSlots } from './packet-id-slots.js';
