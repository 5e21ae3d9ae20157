import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../http/index.js';
import type { Logger } from '../log/index.js';
import { OutpostError } from '../errors/index.js';
import { METRICS_PATH, serveExposition } from './metrics-route.js';
import type { MetricsRegistry } from './metrics-registry.js';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: MetricsRegistry;
  readonly logger: Logger;
}

/**
 * Plain HTTP `GET /metrics` without authentication (metrics.port, off by default), like Azure's
 * port 9600: for a Prometheus on the same host or the module network, never the devices' network.
 * Bound to loopback unless metrics.host says otherwise.
 */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: MetricsServerOptions): Promise<MetricsServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?', 1)[0];
      if (request.method !== 'GET' || path !== METRICS_PATH) return sendJson(response, 404, { error: 'not found', path });
      serveExposition(options.registry, response, options.logger);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: unknown) => {
        const errno = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
        const message = `the metrics listener cannot bind ${options.host}:${options.port} (${errno}): choose another metrics.port, or turn it off with metrics.plain=false`;
        reject(new OutpostError('OUTPOST_LISTENER_BIND_FAILED', message, { details: { listener: 'metrics', host: options.host, port: options.port, errno }, cause: error }));
      };
      server.once('error', onError);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    options.logger.info({ event: 'metrics.listening', host: options.host, port }, 'metrics served on plain HTTP');
    return new MetricsServer(server, port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
