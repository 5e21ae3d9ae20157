/**
 * Every command in README.md's shell blocks is run, in order, as a new user would run it, so a
 * README command that breaks fails the suite (issue 15: the README's own route example was
 * refused by the type checker). Unknown commands fail the test: a new one needs a rule here.
 *
 * How each kind runs, and why:
 * - `npm start`: really run (`npm start -- <flags>`), with every listener on port 0 (fixed ports
 *   collide on a shared machine), the plain listener on for the mosquitto examples, and the data
 *   in a temporary directory (OUTPOST_DATA_DIR). That the defaults need no root is
 *   test/config/config-load.test.ts's business.
 * - `npm ci`: not run: it deletes and reinstalls node_modules under the running suite; CI's
 *   .ci/run does exactly this before the tests.
 * - `npm test`: not run: it is this suite.
 * - `npx outpost …`: run as `node bin/outpost.js …`, the bin npx resolves (package.json "bin", checked
 *   below), in a temporary working directory holding msg.json (npx outside the repository would
 *   look the package up in the registry).
 * - `mosquitto_pub`/`mosquitto_sub`: run with `-p <plain port>`; a command ending in `&` runs in
 *   the background and must show what the next ones sent.
 * - `--follow`: run until it prints a line, then interrupted (Ctrl-C), which must exit 0.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { until } from '../helpers/eventually.js';
import { childEnv, OUTPOST_BIN, spawnLogged, testScope, type OutpostProcess } from '../helpers/outpost-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const scope = testScope('outpost-readme-', after);

/** Commands of the ```sh blocks, in order: comments dropped, `a && b` split. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (command !== '') commands.push(...command.split(' && ').map((part) => part.trim()));
    }
  }
  return commands;
}

/** Words of a command line as a POSIX shell splits them (the README uses '…', "…" and \$). */
function words(command: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ') {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      for (i++; command[i] !== '"'; i++) text += command[i] === '\\' ? command[++i] : command[i];
      word = (word ?? '') + text;
    } else word = (word ?? '') + (c === '\\' ? command[++i] : c);
  }
  if (word !== undefined) out.push(word);
  return out;
}

describe('README.md', () => {
  it('runs every command of its shell blocks', async () => {
    const commands = readmeCommands(README);
    assert.ok(commands.length >= 10, `found only ${commands.length} commands`);
    const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    assert.equal(join(ROOT, packageJson.bin.outpost!), OUTPOST_BIN, 'npx outpost runs bin/outpost.js');

    const work = scope.newDir();
    const env = childEnv({ OUTPOST_DATA_DIR: join(work, 'data') });
    // The message file of the `routes test` example is the JSON block that shows one.
    const messageBlock = [...README.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((text) => text.includes('"properties"'));
    assert.ok(messageBlock !== undefined, 'README shows the message file of `routes test`');
    writeFileSync(join(work, 'msg.json'), messageBlock);

    let hub: OutpostProcess | undefined;
    let plainPort = 0;
    const background: { command: string; process: OutpostProcess }[] = [];
    const run = (argv: readonly string[]) => {
      const child = spawnLogged(argv[0]!, argv.slice(1), { env, cwd: work });
      scope.track(child);
      return child;
    };
    const ran: string[] = [];
    for (const command of commands) {
      const argv = words(command.replace(/\s*&$/, ''));
      const [program, ...args] = argv;
      if (command === 'npm ci' || command === 'npm test') continue;
      if (command === 'npm start') {
        if (hub !== undefined) continue; // the tour starts it again; one is running
        hub = spawnLogged('npm', ['start', '--', '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--allow-anonymous', '--mqtt-plain-port', '0'], { env, cwd: ROOT, detached: true });
        const started = hub;
        // SIGTERM to npm and Outpost (its own process group), so the agent stops the sample modules.
        after(async () => {
          if (started.child.exitCode !== null || started.child.signalCode !== null) return;
          process.kill(-started.child.pid!, 'SIGTERM');
          await started.exited(60_000).catch(() => process.kill(-started.child.pid!, 'SIGKILL'));
        });
        const ready = await hub.waitFor((line) => line.event === 'hub.ready', 60_000);
        plainPort = (ready.ports as { mqttPlain: number }).mqttPlain;
        await hub.waitFor((line) => line.event === 'agent.ready', 60_000);
        ran.push(command);
        continue;
      }
      assert.ok(hub !== undefined, `${command}: the README runs it before \`npm start\``);
      let full: string[];
      if (program === 'npx' && args[0] === 'outpost') full = [process.execPath, OUTPOST_BIN, ...args.slice(1)];
      else if (program === 'mosquitto_sub' || program === 'mosquitto_pub') full = [program, ...args, '-p', String(plainPort)];
      else assert.fail(`README command with no rule in test/docs/readme-commands.test.ts: ${command}`);
      ran.push(command);

      if (command.endsWith('&')) {
        background.push({ command, process: run(full) });
      } else if (args.includes('--follow')) {
        const follower = run(full);
        await follower.waitFor(() => true, 30_000);
        follower.child.kill('SIGINT');
        assert.equal(await follower.exited(), 0, `${command}: ${follower.stderr()}`);
      } else if (program === 'mosquitto_pub') {
        // The backgrounded mosquitto_sub may still be subscribing: publish until it has the message.
        const subscriber = background.find((b) => b.command.startsWith('mosquitto_sub'));
        assert.ok(subscriber !== undefined);
        const received = () => subscriber.process.lines.some((line) => line.msg === 'plant/line1 hello');
        const deadlineMs = Date.now() + 30_000;
        while (!received()) {
          assert.ok(Date.now() < deadlineMs, `${command} never reached mosquitto_sub: ${subscriber.process.stderr()}`);
          const publisher = run(full);
          assert.equal(await publisher.exited(), 0, publisher.stderr());
          await until(received, 1_000, 'mosquitto_sub to print the message').catch(() => undefined);
        }
      } else {
        const result = run(full);
        const code = await result.exited(60_000);
        const stdout = result.lines.map((line) => line.msg ?? JSON.stringify(line)).join('\n');
        assert.equal(code, 0, `${command} exited ${code}: ${result.stderr()}${stdout}`);
        expectOutput(command, stdout);
      }
    }
    assert.ok(ran.includes('npm start') && ran.some((c) => c.startsWith('npx outpost routes test')) && ran.some((c) => c.startsWith('mosquitto_pub')), `ran: ${ran.join(' | ')}`);
    for (const { process: child } of background) child.child.kill('SIGTERM');
    process.kill(-hub!.child.pid!, 'SIGTERM');
    await hub!.exited(40_000);
    // npm exits at once on SIGTERM; Outpost, its child, may still be stopping the sample modules
    // and writing their records. It holds the same stdout, so the pipe's end is Outpost's exit:
    // removing the data directory before it races with those writes (ENOTEMPTY).
    const stdout = hub!.child.stdout;
    if (!stdout.readableEnded) await until(() => stdout.readableEnded, 40_000, 'outpost (npm start\'s child) to exit');
  });
});

/** What the README says each command shows. */
function expectOutput(command: string, stdout: string): void {
  if (command.startsWith('npx outpost routes test')) assert.match(stdout, /^True\nendpoint: \$upstream$/, command);
  if (command.startsWith('npx outpost list')) assert.match(stdout, /tempFilter/, command);
  if (command.startsWith('npx outpost check')) assert.match(stdout, /deployment: ok/, command);
  if (command.startsWith('npx outpost store stats')) assert.match(stdout, /queued: \d+ messages?/, command);
  if (command.startsWith('npx outpost identity connection-string dev1')) assert.match(stdout, /^HostName=[^;]+;DeviceId=dev1;SharedAccessKey=[^;]+;GatewayHostName=/, command);
}
