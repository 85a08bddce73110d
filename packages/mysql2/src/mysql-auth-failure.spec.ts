import { describe, expect, it } from '@jest/globals';
import { isMysqlAuthFailure } from './mysql-auth-failure.js';

describe('isMysqlAuthFailure', () => {
  it('counts refused logins (1045, 1698) and expired passwords (1862), by errno', () => {
    expect(isMysqlAuthFailure({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' })).toBe(true);
    expect(isMysqlAuthFailure({ errno: 1698, code: 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR' })).toBe(true);
    expect(isMysqlAuthFailure({ errno: 1862, code: 'ER_MUST_CHANGE_PASSWORD_LOGIN' })).toBe(true);
  });

  it('leaves out a missing grant on the database (1044), SQL errors, network errors and non-errors', () => {
    expect(isMysqlAuthFailure({ errno: 1044, code: 'ER_DBACCESS_DENIED_ERROR' })).toBe(false);
    expect(isMysqlAuthFailure({ errno: 1146, code: 'ER_NO_SUCH_TABLE' })).toBe(false);
    expect(isMysqlAuthFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 }))).toBe(false);
    expect(isMysqlAuthFailure({ code: 'ER_ACCESS_DENIED_ERROR' })).toBe(false);
    expect(isMysqlAuthFailure(undefined)).toBe(false);
    expect(isMysqlAuthFailure('1045')).toBe(false);
  });
});
