import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { scramPasswordProblem, scramVerifier } from './scram-verifier.js';

describe('scramVerifier', () => {
  it('derives the keys of the RFC 7677 example (password "pencil"): its client proof and server signature check out', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = await scramVerifier('pencil', 4096, salt);
    const match = /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
    expect(match).not.toBeNull();
    const [storedKey, serverKey] = [Buffer.from(match![1]!, 'base64'), Buffer.from(match![2]!, 'base64')];
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // The server's check of the client proof: SHA-256(proof XOR HMAC(StoredKey, AuthMessage)) is StoredKey.
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ signature[i]!));
    expect(createHash('sha256').update(clientKey).digest()).toEqual(storedKey);
  });

  it('uses a new 16-byte salt each time and never contains the password', async () => {
    const [a, b] = [await scramVerifier('pencil-canary'), await scramVerifier('pencil-canary')];
    expect(a).not.toBe(b);
    expect(Buffer.from(a.split(/[:$]/)[2]!, 'base64')).toHaveLength(16);
    expect(a).not.toContain('pencil-canary');
  });

  it('refuses what PostgreSQL would SASLprep differently: non-ASCII, NUL, empty', async () => {
    for (const password of ['pässword', 'pass\u00a0word', 'pass\u0000word', '']) {
      expect(scramPasswordProblem(password)).toEqual(expect.any(String));
      await expect(scramVerifier(password)).rejects.toThrow(TypeError);
    }
    expect(scramPasswordProblem('Aa0!#$%&()*+,-.:;<=>?[]^_`{|}~')).toBeUndefined();
  });
});
