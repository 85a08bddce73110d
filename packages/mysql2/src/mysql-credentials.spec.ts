import { describe, expect, it } from '@jest/globals';
import { mysqlLogin, type MysqlCredentials } from './mysql-credentials.js';

describe('mysqlLogin', () => {
  it('takes { username, password } as Vault and AWS give them, and { user, password } as mysql2 names them', () => {
    expect(mysqlLogin({ username: 'app', password: 'pw' })).toEqual({ user: 'app', password: 'pw' });
    expect(mysqlLogin({ user: 'app', password: 'pw' })).toEqual({ user: 'app', password: 'pw' });
    expect(mysqlLogin({ user: 'app', password: '' })).toEqual({ user: 'app', password: '' });
  });

  it('refuses credentials without a user or a password with SECRET_INVALID, never quoting a value', () => {
    const noUser = { password: 'do-not-print-me' } as unknown as MysqlCredentials;
    const noPassword = { username: 'app' } as unknown as MysqlCredentials;
    expect(() => mysqlLogin(noUser)).toThrow(expect.objectContaining({ code: 'SECRET_INVALID', message: expect.not.stringContaining('do-not-print-me') }));
    expect(() => mysqlLogin(noPassword)).toThrow(expect.objectContaining({ code: 'SECRET_INVALID', message: expect.stringContaining('password') }));
    expect(() => mysqlLogin('app:pw' as unknown as MysqlCredentials)).toThrow(expect.objectContaining({ code: 'SECRET_INVALID' }));
  });
});
