import { OutpostError } from '../../errors/index.js';

/** Turns a listen() failure into an error that tells the operator what to change. */
export function bindError(listener: string, host: string | null, port: number, flag: string | undefined, cause: unknown): OutpostError {
  const errno = (cause as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  const where = `${host ?? '*'}:${port}`;
  const change = flag === undefined ? `${listener}.port` : `${flag} (or ${listener}.port)`;
  const hints: Record<string, string> = {
    EADDRINUSE: `the port is already in use; stop the other process, choose another port with ${change}, or disable the listener with ${listener}.enabled=false`,
    EACCES: `binding ports below 1024 needs root or CAP_NET_BIND_SERVICE; run with that, or choose another port with ${change}`,
    EADDRNOTAVAIL: `the address ${host ?? ''} is not an address of this machine; fix ${listener}.host`,
    EAFNOSUPPORT: `the address family of ${host ?? ''} is not supported here; fix ${listener}.host`,
    ENOTFOUND: `the host name ${host ?? ''} does not resolve; fix ${listener}.host`,
  };
  const hint = hints[errno] ?? 'see the cause in details';
  return new OutpostError('OUTPOST_LISTENER_BIND_FAILED', `the ${listener} listener cannot bind ${where} (${errno}): ${hint}`, {
    details: { listener, host, port, errno },
    cause,
  });
}
