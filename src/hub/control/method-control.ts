import { parseMethodCall, type MethodService } from '../methods/index.js';
import type { HubControlAnswer } from './hub-control-server.js';

/**
 * The direct-method endpoint of the hub control API: the operator plays the cloud and calls a
 * method on any device or module this edge device owns, with IoT Hub's request body and answer
 * (`outpost method invoke`).
 */
export function methodControl(methods: MethodService): { invokeMethod(deviceId: string, moduleId: string | undefined, bodyText: string): Promise<HubControlAnswer> } {
  return {
    async invokeMethod(deviceId, moduleId, bodyText) {
      const parsed = parseMethodCall(bodyText);
      const answer = parsed.ok ? await methods.invoke(deviceId, moduleId, parsed.call) : parsed.answer;
      return { status: answer.httpStatus, body: answer.body };
    },
  };
}

