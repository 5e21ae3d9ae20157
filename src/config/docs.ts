import { ConfigSchema } from './schema.js';
import { envName, isSection, leafOptions, type LeafEntry } from './schema-helpers.js';
import { expectation } from './leaf-value.js';
import { CONFIG_FILE_ENV } from './sources.js';
import type { TObject } from '@sinclair/typebox';

/** Renders docs/config.md from the schema; a test fails when the committed file differs. */
export function renderConfigDoc(): string {
  const out: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every setting has a default and can be set, from lowest to highest precedence, in a configuration',
    `file (\`--config FILE\` or \`${CONFIG_FILE_ENV}\`; JSON or YAML, keys as in the first column), an`,
    'environment variable, or a command-line flag (the listed flag, or `--set key=value` for any key).',
    'Environment variables are `OUTPOST_` followed by the key in upper snake case, sections joined by',
    '`__`. The Azure IoT Edge hub variable names in the Aliases column are accepted too (case-insensitive,',
    'as .NET reads them); when both forms are set, the `OUTPOST_` variable wins. An unknown `OUTPOST_`',
    'variable or file key is an error. All problems are reported at once, each with its source.',
    '',
    'Durations take a unit (`500ms`, `30s`, `5m`, `1h`, `1d`, or `1m30s`; .NET `hh:mm:ss` is accepted);',
    'sizes take `B`, `KB`, `MB`, `GB` or `KiB`, `MiB`, `GiB`. Relative paths are resolved against the',
    'directory of the configuration file, or the working directory for variables and flags.',
    '`routes` and `auth.policy` are structured values: YAML or JSON in the file, JSON text in a variable',
    'or flag; their content is checked at load (route positions, policy paths).',
    '',
    'A hub run alone (`outpost hub --config FILE`) watches its configuration file (and reloads it on',
    'SIGHUP): new `routes` and `auth.policy` apply at once, an edit that does not load is rejected and',
    'changes nothing, and other changed settings take effect at the next start.',
    '',
    'Run `outpost check` to validate a configuration, and `outpost check --print` to see each effective',
    'value and where it came from.',
    '',
  ];
  renderSection(ConfigSchema, [], out);
  return out.join('\n') + '\n';
}

function renderSection(section: TObject, prefix: string[], out: string[]): void {
  const rows: LeafEntry[] = [];
  const subsections: [string, TObject][] = [];
  for (const [key, child] of Object.entries(section.properties)) {
    if (isSection(child)) subsections.push([key, child]);
    else rows.push({ path: [...prefix, key].join('.'), segments: [...prefix, key], schema: child, options: leafOptions(child)! });
  }
  if (rows.length > 0) {
    out.push(`## ${prefix.length === 0 ? 'General' : `\`${prefix.join('.')}\``}`, '');
    if (prefix.length > 0 && section.description) out.push(section.description, '');
    out.push('| Key | Environment variable | Flag | Default | Description |', '|---|---|---|---|---|');
    for (const leaf of rows) out.push(renderRow(leaf));
    out.push('');
    const aliased = rows.filter((leaf) => (leaf.options.aliases ?? []).length > 0);
    if (aliased.length > 0) {
      out.push('Azure IoT Edge aliases:', '');
      for (const leaf of aliased) {
        for (const alias of leaf.options.aliases ?? []) {
          out.push(`- \`${alias.name}\` → \`${leaf.path}\`${alias.note ? ` (${alias.note})` : ''}`);
        }
      }
      out.push('');
    }
  }
  for (const [key, child] of subsections) renderSection(child, [...prefix, key], out);
}

function renderRow(leaf: LeafEntry): string {
  const { options, schema } = leaf;
  const defaultText =
    options.defaultNote !== undefined
      ? options.defaultNote
      : Array.isArray(schema.default)
        ? `\`${(schema.default as unknown[]).join(',')}\``
        : `\`${String(schema.default)}\``;
  const description = `${options.description} Expects ${expectation(leaf)}.`;
  return `| \`${leaf.path}\` | \`${envName(leaf.segments)}\` | ${options.flag ? `\`${options.flag}\`` : ''} | ${defaultText} | ${description.replace(/\|/g, '\\|')} |`;
}
