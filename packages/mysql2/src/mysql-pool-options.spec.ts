import { describe, expect, it } from '@jest/globals';
import type { CredentialSource } from '@keyward/core';
import type { MysqlCredentials } from './mysql-credentials.js';
import { credentialPoolOptions, credentialSourceOf, type MysqlPoolOptions } from './mysql-pool-options.js';

const source = {} as CredentialSource<MysqlCredentials>;

describe('MySQL pool options', () => {
  it("takes mysql2's connectionLimit or Keyward's max, and refuses both when they differ", () => {
    expect(credentialPoolOptions({ credentials: source, connectionLimit: 4 })).toMatchObject({ max: 4 });
    expect(credentialPoolOptions({ credentials: source, max: 6, min: 2, drainTimeout: '5s' })).toMatchObject({ max: 6, min: 2, drainTimeout: '5s' });
    expect(credentialPoolOptions({ credentials: source, connectionLimit: 3, max: 3 })).toMatchObject({ max: 3 });
    expect(() => credentialPoolOptions({ credentials: source, connectionLimit: 3, max: 5 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('needs a store and a secret name, or a credential source', () => {
    expect(credentialSourceOf({ credentials: source })).toBe(source);
    expect(() => credentialSourceOf({} as MysqlPoolOptions)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => credentialSourceOf({ store: {} } as MysqlPoolOptions)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
