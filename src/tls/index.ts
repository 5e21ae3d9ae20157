export { ensureDevCertificates, type DevCertificates, type DevCertificatesOptions } from './dev-ca.js';
export { loadServerCredentials, type ServerCredentials, type ServerCredentialsOptions } from './server-credentials.js';
export { tlsVersionRange, type TlsProtocol, type TlsSecureVersion, type TlsVersionRange } from './tls-versions.js';
export {
  issueCertificate,
  KeyUsageBit,
  type CertificateSubject,
  type ExtendedKeyUsage,
  type IssueCertificateOptions,
  type KeyUsage,
  type SubjectAltNames,
} from './x509-builder.js';
export { readCertificateFields, keyIdentifier, type CertificateFields } from './certificate-fields.js';
export { derToPem, splitPemCertificates } from './pem.js';
export { SessionTickets, TICKET_KEYS_BYTES, type SessionTicketServerOptions } from './session-tickets.js';
export { PeerChainCache } from './peer-chain-cache.js';
