import { ErrorRegistry, type ErrorSpec } from './registry.js';

/** Renders docs/errors.md from the registry; a test fails when the committed file differs. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/registry.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every error Outpost reports carries one of these stable codes, in the `code` field of its log line,',
    'in `outpost check` output, and where a client can receive it, mapped to an MQTT 5 reason code or an',
    'AMQP condition. Codes are never reused.',
    '',
    'Kinds: `client` (the peer sent something wrong), `config` (the operator must fix configuration),',
    '`transient` (retry later), `internal` (a defect or an environment failure; report it).',
    '',
    '| Code | Kind | MQTT reason | AMQP condition | Meaning |',
    '|---|---|---|---|---|',
  ];
  for (const [code, spec] of Object.entries(ErrorRegistry) as [string, ErrorSpec][]) {
    const mqtt = spec.mqttReason === undefined ? '' : `0x${spec.mqttReason.toString(16).padStart(2, '0')}`;
    const name = spec.retired ? `~~${code}~~ (retired)` : `\`${code}\``;
    lines.push(`| ${name} | ${spec.kind} | ${mqtt} | ${spec.amqpCondition ?? ''} | ${spec.summary} |`);
  }
  return lines.join('\n') + '\n';
}
