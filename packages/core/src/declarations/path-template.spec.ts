import { describe, expect, it } from '@jest/globals';
import { thrown } from '@keyward/test-support';
import { DEFAULT_PATH_TEMPLATE, renderPathTemplate } from './path-template.js';
import { describeIssue, isStandardSchema } from './standard-schema.js';


describe('renderPathTemplate', () => {
  it('fills {app}, {env}, {name} and custom variables', () => {
    expect(renderPathTemplate(DEFAULT_PATH_TEMPLATE, { app: 'billing', env: 'production', name: 'database' })).toBe('billing/production/database');
    expect(renderPathTemplate('{team}/{env}/{name}-{name}', { team: 'payments', env: 'staging', name: 'db' })).toBe('payments/staging/db-db');
    expect(renderPathTemplate('static/path', {})).toBe('static/path');
  });

  it('inserts values literally, even ones that look like replacement patterns', () => {
    expect(renderPathTemplate('{app}/x', { app: "$&$1$'" })).toBe("$&$1$'/x");
  });

  it('refuses an unknown placeholder with CONFIG_INVALID naming it and the known ones', () => {
    const err = thrown(() => renderPathTemplate('{app}/{region}/{name}', { app: 'a', name: 'n' }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('{region}');
    expect(err.message).toContain('{app}, {name}');
    expect(thrown(() => renderPathTemplate('{}/x', { app: 'a' })).code).toBe('CONFIG_INVALID');
  });

  it('does not take names of Object.prototype for variables', () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(thrown(() => renderPathTemplate(`{${key}}/x`, { app: 'a' })).code).toBe('CONFIG_INVALID');
    }
  });
});

describe('Standard Schema helpers', () => {
  it('describes an issue with its path, whatever the path segment shape', () => {
    expect(describeIssue({ message: 'Required' })).toBe('Required');
    expect(describeIssue({ message: 'Required', path: ['database', 'password'] })).toBe('database.password: Required');
    expect(describeIssue({ message: 'Too short', path: [{ key: 'hosts' }, 0] })).toBe('hosts.0: Too short');
  });

  it('recognises a Standard Schema by its ~standard props', () => {
    expect(isStandardSchema({ '~standard': { version: 1, vendor: 'x', validate: () => ({ value: 1 }) } })).toBe(true);
    expect(isStandardSchema({ '~standard': { version: 2, vendor: 'x', validate: () => ({ value: 1 }) } })).toBe(false);
    expect(isStandardSchema({})).toBe(false);
    expect(isStandardSchema(undefined)).toBe(false);
  });
});
