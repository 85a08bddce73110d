import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { pgLogin } from './pg-credentials.js';
import { isBrokenConnection, isPgAuthFailure, sqlStateOf } from './pg-errors.js';

const serverError = (code: string, severity = 'ERROR') => Object.assign(new Error('from the server'), { code, severity });

describe('PostgreSQL errors', () => {
  it('reads a SQLSTATE only from errors the server sent', () => {
    expect(sqlStateOf(serverError('42P01'))).toBe('42P01');
    expect(sqlStateOf(Object.assign(new Error('socket'), { code: 'EPIPE' }))).toBeUndefined();
    expect(sqlStateOf('28P01')).toBeUndefined();
    expect([isPgAuthFailure(serverError('28P01', 'FATAL')), isPgAuthFailure(serverError('28000', 'FATAL')), isPgAuthFailure(serverError('42501'))]).toEqual([true, true, false]);
  });

  it('discards a connection for a broken socket, an ended session or a non-server failure, and keeps it for an SQL error', () => {
    const client = new pg.Client();
    expect(isBrokenConnection(client, serverError('23505'))).toBe(false); // unique violation
    expect(isBrokenConnection(client, serverError('57014'))).toBe(false); // statement_timeout
    expect(isBrokenConnection(client, serverError('57P01', 'FATAL'))).toBe(true); // admin shutdown
    expect(isBrokenConnection(client, serverError('08006'))).toBe(true); // connection failure
    expect(isBrokenConnection(client, serverError('XX000', 'FATAL'))).toBe(true);
    expect(isBrokenConnection(client, new Error('Query read timeout'))).toBe(true);
    expect(isBrokenConnection(client, Object.assign(new Error('read'), { code: 'ECONNRESET' }))).toBe(true);
    (client as unknown as { _queryable: boolean })._queryable = false;
    expect(isBrokenConnection(client, serverError('23505'))).toBe(true);
  });
});

describe('pgLogin', () => {
  it('takes either shape and refuses anything else by its keys, never its values', () => {
    expect(pgLogin({ username: 'a', password: 'p' })).toEqual({ user: 'a', password: 'p' });
    expect(pgLogin({ user: 'a', password: 'p', host: 'h' })).toEqual({ user: 'a', password: 'p' });
    expect(() => pgLogin({ name: 'a', pass: 'hunter2' })).toThrow(expect.objectContaining({ code: 'SECRET_INVALID', message: expect.stringContaining('keys present: name, pass') }));
    expect(() => pgLogin({ name: 'a', pass: 'hunter2' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
    expect(() => pgLogin('postgresql://a:hunter2@h/db')).toThrow(expect.objectContaining({ code: 'SECRET_INVALID', message: expect.not.stringContaining('hunter2') }));
  });
});
