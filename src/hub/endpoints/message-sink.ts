import type { HubMessage } from '../message/index.js';

/**
 * Where protocol adapters hand telemetry and module output. The promise resolves when the hub
 * has taken responsibility for the message (with the store: when it is in the write-ahead log),
 * and only then does the adapter acknowledge the sender (MQTT PUBACK, AMQP settlement).
 */
export interface MessageSink {
  submit(message: HubMessage): Promise<void>;
}

/** Delivers a routed message to a module input over whatever protocol the module is connected with. */
export interface ModuleInputSink {
  /** Returns false when the module has no session that subscribed to its inputs. */
  deliverToModuleInput(moduleId: string, inputName: string, message: HubMessage): boolean;
}
