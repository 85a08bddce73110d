import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import vault from 'node-vault';
import { callVault, serviceAccountJwt } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('Kubernetes auth method (the dev server trusts the JWT like a TokenReview that says yes)', () => {
  let server: VaultDevServer;
  const login = (role: string, jwt: string) => callVault(server, 'POST', '/v1/auth/kubernetes/login', { token: null, body: { role, jwt } });
  const legacy = (namespace: string, name: string) =>
    serviceAccountJwt({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': namespace,
      'kubernetes.io/serviceaccount/service-account.name': name,
      'kubernetes.io/serviceaccount/service-account.uid': '7e3c1c1a-0000-4000-8000-000000000001',
      'kubernetes.io/serviceaccount/secret.name': `${name}-token-x1y2z`,
    });

  beforeAll(async () => {
    server = await startVaultDevServer();
    const admin = vault({ endpoint: server.url, token: server.rootToken });
    await admin.enableAuth({ mount_point: 'kubernetes', type: 'kubernetes' });
    await admin.write('auth/kubernetes/config', { kubernetes_host: 'https://10.0.0.1:443' });
    await admin.write('auth/kubernetes/role/billing', {
      bound_service_account_names: 'billing-api,billing-worker',
      bound_service_account_namespaces: ['payments'],
      token_policies: ['billing'],
      token_ttl: '20m',
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs in a bound service account (legacy claims) through node-vault', async () => {
    const app = vault({ endpoint: server.url });
    const res = await app.kubernetesLogin({ mount_point: 'kubernetes', role: 'billing', jwt: legacy('payments', 'billing-api') });
    expect(res.auth).toMatchObject({
      policies: ['billing', 'default'],
      lease_duration: 1200,
      renewable: true,
      metadata: {
        role: 'billing',
        service_account_name: 'billing-api',
        service_account_namespace: 'payments',
        service_account_secret_name: 'billing-api-token-x1y2z',
        service_account_uid: '7e3c1c1a-0000-4000-8000-000000000001',
      },
    });
    expect((await app.tokenLookupSelf()).data).toMatchObject({ display_name: 'kubernetes-payments-billing-api', path: 'auth/kubernetes/login' });
  });

  it('reads projected-token claims and the sub claim too', async () => {
    const projected = serviceAccountJwt({
      iss: 'https://kubernetes.default.svc',
      sub: 'system:serviceaccount:payments:billing-worker',
      'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'billing-worker', uid: 'u-1' } },
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    expect((await login('billing', projected)).status).toBe(200);
    expect((await login('billing', serviceAccountJwt({ sub: 'system:serviceaccount:payments:billing-api' }))).status).toBe(200);
  });

  it('answers 403 permission denied for an account, namespace or JWT the role does not accept', async () => {
    for (const jwt of [
      legacy('payments', 'intruder'),
      legacy('default', 'billing-api'),
      serviceAccountJwt({ sub: 'system:serviceaccount:payments:billing-api', exp: Math.floor(Date.now() / 1000) - 10 }),
      'not-a-jwt',
    ]) {
      expect(await login('billing', jwt)).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
    }
  });

  it('answers 400 for a missing or unknown role and a missing JWT', async () => {
    expect(await login('nope', legacy('payments', 'billing-api'))).toMatchObject({ status: 400, body: { errors: ['invalid role name "nope"'] } });
    expect(await login('', 'x')).toMatchObject({ status: 400, body: { errors: ['missing role'] } });
    expect(await login('billing', '')).toMatchObject({ status: 400, body: { errors: ['missing jwt'] } });
  });
});
