/** MQTT control packet types: the high nibble of a packet's first byte (section 2.1.2). */
export const PacketType = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Pubrec: 5,
  Pubrel: 6,
  Pubcomp: 7,
  Subscribe: 8,
  Suback: 9,
  Unsubscribe: 10,
  Unsuback: 11,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
  Auth: 15,
} as const;

/** The first byte of every CONNECT: type 1, flags 0 (section 3.1.1). */
export const CONNECT_FIRST_BYTE = PacketType.Connect << 4;

/** Quality of service levels (section 4.3). */
export const QoSLevel = {
  AtMostOnce: 0,
  AtLeastOnce: 1,
  ExactlyOnce: 2,
} as const;

/** Protocol levels of the CONNECT packet (3.1, 3.1.1, 5.0). */
export const ProtocolLevel = {
  V31: 3,
  V311: 4,
  V5: 5,
} as const;

/** The largest packet identifier (a two-byte integer, section 2.2.1). */
export const MAX_PACKET_ID = 0xffff;
