/**
 * The octets of an IP address as an X.509 iPAddress GeneralName holds them (RFC 5280 4.2.1.6):
 * 4 octets for IPv4, 16 for IPv6, network byte order.
 */
import { isIP } from 'node:net';

const IPV4_BYTES = 4;
const IPV6_GROUPS = 8;

/** The address octets, or null when `text` is not an IPv4 or IPv6 address (a DNS name, say). */
export function ipAddressBytes(text: string): Buffer | null {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  // A zone index (fe80::1%eth0) names a local interface and cannot appear in a certificate.
  if (family !== 6 || text.includes('%')) return null;
  return ipv6Bytes(text);
}

function ipv6Bytes(text: string): Buffer {
  // isIP has already validated the syntax, so this only has to expand it.
  let groups = text;
  let tail: number[] = [];
  const lastColon = groups.lastIndexOf(':');
  if (groups.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4 (::ffff:192.0.2.1): its four octets fill the last two groups.
    tail = groups.slice(lastColon + 1).split('.').map(Number);
    groups = `${groups.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = groups.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : new Array<string>(IPV6_GROUPS - headGroups.length - restGroups.length).fill('0');
  const all = [...headGroups, ...zeros, ...restGroups];
  const bytes = Buffer.alloc(IPV6_GROUPS * 2);
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  if (tail.length === IPV4_BYTES) Buffer.from(tail).copy(bytes, bytes.length - IPV4_BYTES);
  return bytes;
}

