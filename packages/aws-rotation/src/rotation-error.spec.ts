import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { RotationError, redactQuoted, safeCause } from './rotation-error.js';

/** An error shaped like mysql2's. */
function mysqlError(message: string, sql: string): Error {
  return Object.assign(new Error(message), { code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000', sqlMessage: message, sql });
}

describe('safeCause', () => {
  it("redacts a MySQL message from its first quote to its last, even with quotes inside, and keeps code, errno and sqlState", () => {
    const sql = "SET PASSWORD = PASSWORD('abc\\'canary-1')";
    const err = mysqlError("You have an error in your SQL syntax; check the manual for the right syntax to use near 'canary-1')' at line 1", sql);
    const cause = safeCause(err);
    expect(cause.message).toBe("You have an error in your SQL syntax; check the manual for the right syntax to use near '[redacted]' at line 1");
    expect(cause).toMatchObject({ name: 'Error', code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' });
    const thrown = new RotationError('DATABASE_ERROR', 'arn:x', 'setSecret', 'v1', 'the database refused the statement', err);
    expect(inspect(thrown, { depth: 5 })).not.toContain('canary-1');
    expect(Object.keys(cause)).not.toContain('sql');
  });

  it('redacts to the end after a lone quote, and leaves a message without quotes as it is', () => {
    expect(redactQuoted("Invalid utf8mb4 character string: 'canary")).toBe("Invalid utf8mb4 character string: '[redacted]'");
    expect(redactQuoted('Lock wait timeout exceeded')).toBe('Lock wait timeout exceeded');
  });

  it('leaves the messages of other errors (Secrets Manager, PostgreSQL) as they are, with only their code', () => {
    const aws = Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException', $metadata: {} });
    expect(safeCause(aws)).toMatchObject({ name: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    const pg = Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01', errno: 7 });
    expect(Object.keys(safeCause(pg))).not.toContain('errno');
    expect(safeCause(pg)).toMatchObject({ code: '28P01', message: 'password authentication failed for user "app"' });
  });
});
