export { tlsFromSecret, type SecureContextTarget, type TlsContextOptions, type TlsFromSecret, type TlsFromSecretEvents, type TlsFromSecretOptions, type TlsHealth } from './tls-from-secret.js';
export type { ClientTlsOptions, TlsConnector, TlsConnectorOptions } from './tls-clients.js';
export { checkTlsCertificate, TlsRefusal, type CheckTlsCertificateOptions, type TlsCertificateInfo, type TlsProblem } from './tls-material.js';
export { sniCallback, type SniCallback } from './sni.js';
