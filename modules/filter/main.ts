/**
 * Filter module, like Azure's tutorial filter: readings arriving on input `input1` whose
 * machine.temperature is above TemperatureThreshold (default 25) are forwarded on output
 * `output1` with the application property MessageType=Alert; the others are dropped.
 */
import { closeOnSignal, connectModule, log, Message, type ModuleClient } from '../common/connect-module.js';

const threshold = Number(process.env.TemperatureThreshold ?? '25');

let client: ModuleClient | undefined;
closeOnSignal(() => client);
client = await connectModule();
const connected = client;
let forwarded = 0;
let dropped = 0;

connected.on('inputMessage', (inputName: string, message: InstanceType<typeof Message>) => {
  void (async () => {
    try {
      if (inputName !== 'input1') return;
      const reading = JSON.parse(message.getBytes().toString('utf8')) as { machine?: { temperature?: number } };
      const temperature = reading.machine?.temperature;
      if (typeof temperature === 'number' && temperature > threshold) {
        const alert = new Message(message.getBytes());
        alert.contentType = 'application/json';
        alert.contentEncoding = 'utf-8';
        alert.properties.add('MessageType', 'Alert');
        await connected.sendOutputEvent('output1', alert);
        forwarded++;
        if (forwarded === 1 || forwarded % 10 === 0) log('filter.forwarded', { forwarded, temperature, threshold });
      } else {
        dropped++;
      }
    } catch (error) {
      log('filter.bad_message', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      await connected.complete(message).catch(() => undefined);
    }
  })();
});
log('filter.ready', { threshold, dropped });
