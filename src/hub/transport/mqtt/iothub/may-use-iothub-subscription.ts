/**
 * Whether an identity may hold an IoT Hub subscription. Methods, desired properties and twin
 * responses carry no ids: they always mean the connection's own. C2D is for devices only (modules
 * cannot receive C2D) and only for the device itself; module inputs only for the module itself.
 * A filter whose ids could not be read (another shape, or wildcards in place of ids) is refused.
 * A parent device acting for its children comes later, with the identity issue.
 */
import type { IotHubSubscription } from './classify-subscription.js';
import type { ClientIdentity } from './iothub-types.js';

export function mayUseIotHubSubscription(
  identity: ClientIdentity,
  subscription: Exclude<IotHubSubscription, { kind: 'general' }>,
): boolean {
  switch (subscription.kind) {
    case 'methods':
    case 'desired-properties':
    case 'twin-responses':
      return true;
    case 'c2d':
      return identity.moduleId === undefined && subscription.deviceId === identity.deviceId;
    case 'module-inputs':
      return (
        identity.moduleId !== undefined &&
        subscription.deviceId === identity.deviceId &&
        subscription.moduleId === identity.moduleId
      );
  }
}
