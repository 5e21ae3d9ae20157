import type { Duplex } from 'node:stream';
import type { Logger } from '../../log/index.js';
import type { ConnectionInfo, ProtocolAdapter } from './protocol-adapter.js';

/**
 * Stands in for a protocol whose adapter is not part of this build yet. It keeps the listener
 * honest: the port is bound, TLS is served and the connect-arrival timeout is enforced, but the
 * first protocol bytes get a log line (OUTPOST_PROTOCOL_UNAVAILABLE) and a closed connection
 * instead of a silent hang.
 */
export class UnavailableProtocolAdapter implements ProtocolAdapter {
  private readonly open = new Set<Duplex>();

  constructor(
    readonly protocol: string,
    private readonly logger: Logger,
  ) {}

  handle(stream: Duplex, info: ConnectionInfo): void {
    this.open.add(stream);
    const timer = setTimeout(() => {
      this.logger.info(
        { event: 'transport.connect_timeout', code: 'OUTPOST_LISTENER_CONNECT_TIMEOUT', listener: info.listener, remoteAddress: info.remoteAddress },
        'no protocol bytes within the connect timeout',
      );
      stream.destroy();
    }, info.connectTimeoutMs);
    timer.unref();
    stream.once('data', () => {
      clearTimeout(timer);
      this.logger.warn(
        { event: 'transport.protocol_unavailable', code: 'OUTPOST_PROTOCOL_UNAVAILABLE', protocol: this.protocol, listener: info.listener, remoteAddress: info.remoteAddress },
        `the ${this.protocol} protocol adapter is not available in this build`,
      );
      stream.destroy();
    });
    stream.once('close', () => {
      clearTimeout(timer);
      this.open.delete(stream);
    });
    stream.on('error', () => stream.destroy());
  }

  async shutdown(): Promise<void> {
    // Nothing is in flight on a connection that never spoke the protocol: close at once.
    for (const stream of this.open) stream.destroy();
    this.open.clear();
  }
}
