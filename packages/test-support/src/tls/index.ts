// Certificates for TLS specs, made by @keyward/testing (a core spec reaches it through here: core
// does not depend on @keyward/testing, which depends on core).
export { testCertificate, type TestCertificate, type TestCertificateRequest } from '@keyward/testing';
