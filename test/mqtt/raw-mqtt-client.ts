import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * A client that writes packets it is given and parses, with mqtt-packet, exactly the bytes the
 * broker put on the wire: for asserting what a real client library would hide or resolve (an
 * empty topic with a topic alias, a CONNACK property) and for staying silent on purpose.
 */
export class RawMqttClient {
  /** Every packet received so far, in order. */
  readonly packets: Packet[] = [];
  /** Resolves when the broker closes the connection, with the time it happened. */
  readonly closed: Promise<number>;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly socket: Socket,
    readonly protocolVersion: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      for (const wake of this.waiters) wake();
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
  }

  static open(port: number, protocolVersion: 4 | 5): Promise<RawMqttClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawMqttClient(socket, protocolVersion)));
      socket.once('error', reject);
    });
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Resolves with the first received packet (from index `from`) the predicate accepts. */
  next<P extends Packet>(accept: (packet: Packet) => packet is P, timeoutMs = 5_000, from = 0): Promise<P> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.packets.slice(from).find(accept);
        if (found === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching packet within ${timeoutMs} ms; got ${this.packets.map((p) => p.cmd).join(', ')}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once `n` packets with this command have arrived, with them. */
  async count<C extends Packet['cmd']>(cmd: C, n: number, timeoutMs = 5_000): Promise<Extract<Packet, { cmd: C }>[]> {
    const matching = () => this.packets.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
    await this.next((_p): _p is Packet => matching().length >= n, timeoutMs);
    return matching().slice(0, n);
  }

  end(): void {
    this.socket.destroy();
  }
}
