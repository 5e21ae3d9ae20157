import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { messageSource, type HubMessage } from '../hub/message/index.js';
import {
  RouteTable,
  compileRoute,
  describeProblem,
  pointAtProblem,
  sourceMatches,
  type RouteEndpoint,
} from '../hub/routing/index.js';

/**
 * `outpost routes test --route '<route>' --message <file.json>`: what the Azure portal's "test
 * route" does, offline. Prints True, False or Undefined and the endpoint (exit 0), or the compile
 * error with its position (exit 2).
 */
export function routesCommand(program: Command, setExit: (code: number) => void): void {
  const routes = program.command('routes').description('check route statements offline');
  const test = routes
    .command('test')
    .description('evaluate one route against one message: prints True, False or Undefined and the endpoint')
    .requiredOption('--route <route>', 'the route, e.g. "FROM /messages/* WHERE as_number(temp) > 50 INTO $upstream"')
    .requiredOption(
      '--message <file>',
      'JSON file {"properties": {…}, "systemProperties": {…}, "body": <string or JSON>, "source"?: "/messages/modules/<m>/outputs/<o>"}',
    )
    .exitOverride();
  test.action(() => setExit(testRoute(test.opts<{ route: string; message: string }>())));
}

const USAGE = 2;

function testRoute(options: { route: string; message: string }): number {
  const message = readMessage(options.message);
  if (typeof message === 'string') {
    process.stderr.write(`error: ${message}\n`);
    return USAGE;
  }
  const compiled = compileRoute(options.route);
  if (!compiled.ok) {
    process.stderr.write(`error: ${compiled.problem.code}: ${describeProblem(compiled.problem)}\n${indent(pointAtProblem(options.route, compiled.problem))}\n`);
    return USAGE;
  }
  const { route } = compiled;
  for (const warning of route.warnings) process.stderr.write(`warning: ${warning}\n`);
  const table = RouteTable.fromData({ routes: [{ ...route, name: 'route', priority: 0, ttlSec: 0 }], rejected: [] });
  const [verdict] = table.explain(message);
  const matches = sourceMatches(route.source, message.source);
  const result = !matches ? 'False' : verdict!.result === 1 ? 'True' : verdict!.result === -1 ? 'False' : 'Undefined';
  const lines = [result, `endpoint: ${endpointText(route.endpoint)}`];
  if (!matches) lines.push(`note: the message source ${message.source} does not match FROM ${route.source}, so the route does not see it`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (route.compiled.usesBody && !hasJsonContent(message)) {
    process.stderr.write('note: $body queries are Undefined unless systemProperties has contentType "application/json" and contentEncoding "utf-8" (or utf-16, utf-32)\n');
  }
  return 0;
}

function endpointText(endpoint: RouteEndpoint): string {
  return endpoint.kind === 'upstream' ? '$upstream' : `BrokeredEndpoint("${endpoint.id}")`;
}

function indent(text: string, prefix = '  '): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

function hasJsonContent(message: HubMessage): boolean {
  const system = message.systemProperties;
  return Object.keys(system).some((key) => key.toLowerCase() === 'contenttype') && Object.keys(system).some((key) => key.toLowerCase() === 'contentencoding');
}

/** Reads the message file; returns the reason as a string when it is not usable. */
function readMessage(file: string): HubMessage | string {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return `cannot read the message file ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return `${file}: expected a JSON object {"properties", "systemProperties", "body"}`;
  const record = data as Record<string, unknown>;
  const properties = stringMap(record.properties, 'properties', file);
  if (typeof properties === 'string') return properties;
  const systemProperties = stringMap(record.systemProperties, 'systemProperties', file);
  if (typeof systemProperties === 'string') return systemProperties;
  const body = record.body;
  const bodyText = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  if (record.source !== undefined && typeof record.source !== 'string') return `${file}: "source" must be a string such as "/messages/modules/<m>/outputs/<o>"`;
  const moduleId = lookup(systemProperties, 'connectionModuleId');
  const source = (record.source as string | undefined) ?? messageSource(moduleId ?? undefined, lookup(systemProperties, 'outputName') ?? undefined);
  return { source, body: new TextEncoder().encode(bodyText), properties, systemProperties: systemProperties as HubMessage['systemProperties'], enqueuedAtMs: Date.now() };
}

function stringMap(value: unknown, field: string, file: string): Record<string, string | null> | string {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${file}: "${field}" must be an object of names to string values`;
  for (const [key, entry] of Object.entries(value)) {
    if (entry !== null && typeof entry !== 'string') return `${file}: ${field}.${key} must be a string or null (property values are strings; compare numbers with as_number)`;
  }
  return value as Record<string, string | null>;
}

function lookup(map: Record<string, string | null>, name: string): string | null | undefined {
  const key = Object.keys(map).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : map[key];
}
