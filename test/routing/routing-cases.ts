import { readFileSync } from 'node:fs';
import type { HubMessage } from '../../src/hub/message/index.js';

/**
 * The conformance cases of test/fixtures/routing/routing-cases.json (copied unchanged from the
 * shared folder; Azure IoT Edge's routing tests, MIT licensed — see its `provenance` field) and the
 * messages its fixtures describe.
 */

export interface Fixture {
  readonly source: string;
  readonly body: unknown;
  readonly properties: Record<string, string | null>;
  readonly systemProperties: Record<string, string | null>;
}

export interface ConditionCase {
  readonly group: string;
  readonly condition: string;
  readonly expected: 'True' | 'False' | 'Undefined' | 'CompileError';
  readonly fixture: string;
  readonly note: string;
}

export interface RoutingCases {
  readonly provenance: string;
  readonly fixtures: Record<string, Fixture>;
  readonly condition_cases: ConditionCase[];
  readonly source_cases: { route_source: string; message_source: string; expected: boolean }[];
  readonly route_parse_cases: {
    route: string;
    source: string;
    condition: string;
    endpoint_kind: 'function' | 'system';
    function?: string;
    address?: string;
    endpoint?: string;
  }[];
  readonly route_invalid_cases: { route: string; expected: string }[];
}

export const cases = JSON.parse(readFileSync(new URL('../../../test/fixtures/routing/routing-cases.json', import.meta.url), 'utf8')) as RoutingCases;

export const TWIN_SOURCE = '/twinChangeNotifications/';

/** The message source paths the source-match cases name in prose. */
export const MESSAGE_SOURCES: Record<string, string> = {
  '/messages (device telemetry)': '/messages/',
  '/twinChangeNotifications': TWIN_SOURCE,
  '/messages/modules/ModId1/outputs/Op1': '/messages/modules/ModId1/outputs/Op1/',
};

function toMessage(fixture: Fixture, source: string, body?: Uint8Array): HubMessage {
  const text = typeof fixture.body === 'string' ? fixture.body : JSON.stringify(fixture.body);
  return {
    source,
    body: body ?? new TextEncoder().encode(text),
    properties: fixture.properties,
    // M1 has a system property with a null value, which HubMessage's type does not allow; routing
    // must cope with it anyway (a message decoded from an older store, a buggy adapter).
    systemProperties: fixture.systemProperties as HubMessage['systemProperties'],
    enqueuedAtMs: 0,
  };
}

/**
 * The message and the route source a case is evaluated with. The T1 variants replace the body as
 * their notes say; "telemetry source" is T1 seen from a route FROM /messages.
 */
export function caseSetup(fixtureName: string): { message: HubMessage; routeSource: string } {
  const t1 = cases.fixtures.T1!;
  const t1Text = JSON.stringify(t1.body);
  switch (fixtureName) {
    case 'T1':
      return { message: toMessage(t1, TWIN_SOURCE), routeSource: '/twinChangeNotifications' };
    case 'T1-body-empty':
      return { message: toMessage(t1, TWIN_SOURCE, new Uint8Array(0)), routeSource: '/twinChangeNotifications' };
    case 'T1-body-garbage':
      return { message: toMessage(t1, TWIN_SOURCE, new TextEncoder().encode('random message')), routeSource: '/twinChangeNotifications' };
    case 'T1-utf16-bytes-declared-utf8':
      return { message: toMessage(t1, TWIN_SOURCE, Buffer.from(t1Text, 'utf16le')), routeSource: '/twinChangeNotifications' };
    case 'telemetry source':
      return { message: toMessage(t1, '/messages/'), routeSource: '/messages' };
    default: {
      const fixture = cases.fixtures[fixtureName];
      if (fixture === undefined) throw new Error(`unknown fixture ${fixtureName}`);
      return { message: toMessage(fixture, '/messages/'), routeSource: '/messages' };
    }
  }
}
