/**
 * Simulated temperature sensor, like Azure's SimulatedTemperatureSensor module: every
 * SendIntervalMs (default 1000) it sends a reading on output `temperatureOutput`:
 *   {"machine": {"temperature", "pressure"}, "ambient": {"temperature", "humidity"}, "timeCreated"}
 * The machine temperature drifts up and down between 20 and 100 °C, so a filter sees it cross
 * its threshold regularly.
 */
import { closeOnSignal, connectModule, log, Message, type ModuleClient } from '../common/connect-module.js';

const intervalMs = Number(process.env.SendIntervalMs ?? '1000');
const maxMessages = Number(process.env.MessageCount ?? '0'); // 0: for ever

let client: ModuleClient | undefined;
closeOnSignal(() => client);
client = await connectModule();

let sent = 0;
let temperature = 21;
let rising = true;
for (;;) {
  temperature += rising ? 1 + Math.random() * 4 : -(1 + Math.random() * 4);
  if (temperature > 100) rising = false;
  if (temperature < 20) rising = true;
  const reading = {
    machine: { temperature: round(temperature), pressure: round(1 + (temperature - 20) * 0.12) },
    ambient: { temperature: round(20 + Math.random()), humidity: Math.round(24 + Math.random() * 3) },
    timeCreated: new Date().toISOString(),
  };
  const message = new Message(JSON.stringify(reading));
  message.contentType = 'application/json';
  message.contentEncoding = 'utf-8';
  try {
    await client.sendOutputEvent('temperatureOutput', message);
    sent++;
    if (sent === 1 || sent % 10 === 0) log('sensor.sent', { sent, temperature: reading.machine.temperature });
  } catch (error) {
    log('sensor.send_failed', { message: error instanceof Error ? error.message : String(error) });
  }
  if (maxMessages > 0 && sent >= maxMessages) {
    log('sensor.done', { sent });
    await client.close();
    process.exit(0);
  }
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
