export { tlsFromSecret, type SecureContextTarget, type TlsContextOptions, type TlsFromSecret, type TlsFromSecretEvents, type TlsFromSecretOptions, type TlsHealth } from './tls-from-secret.js';
export type { ClientTlsOptions, TlsConnector, TlsConnectorOptions } from './tls-clients.js';
export type { TlsCertificateInfo, TlsProblem } from './tls-material.js';
