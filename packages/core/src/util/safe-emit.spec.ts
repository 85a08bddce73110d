import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { safeEmit } from './safe-emit.js';

interface TestEvents {
  changed: [{ readonly version: string }];
  error: [Error];
}

describe('safeEmit', () => {
  let emitWarning: jest.SpiedFunction<typeof process.emitWarning>;
  beforeEach(() => {
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => emitWarning.mockRestore());

  const warnings = () => emitWarning.mock.calls.map(([message, options]) => ({ message, ...(options as { code: string; detail: string }) }));

  it('calls every listener with the arguments and reports whether there were any', () => {
    const emitter = new EventEmitter<TestEvents>();
    const emit = safeEmit(emitter, 'test pool');
    expect(emit('changed', { version: 'v1' })).toBe(false);
    const seen: string[] = [];
    emitter.on('changed', (e) => seen.push(`on ${e.version}`));
    emitter.once('changed', (e) => seen.push(`once ${e.version}`));
    expect(emit('changed', { version: 'v2' })).toBe(true);
    emit('changed', { version: 'v3' });
    expect(seen).toEqual(['on v2', 'once v2', 'on v3']);
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('keeps the caller going and still calls the later listeners when one throws, reporting the throw as a warning', () => {
    const emitter = new EventEmitter<TestEvents>();
    const emit = safeEmit(emitter, 'test pool');
    const later: string[] = [];
    emitter.on('changed', () => {
      throw new Error('listener bug');
    });
    emitter.on('changed', (e) => later.push(e.version));
    expect(() => emit('changed', { version: 'v1' })).not.toThrow();
    expect(later).toEqual(['v1']);
    expect(warnings()).toEqual([{ message: "a 'changed' listener of the test pool threw", code: 'KEYWARD_LISTENER_ERROR', detail: expect.stringContaining('listener bug') }]);
  });

  it('reports a listener whose promise rejects instead of leaving an unhandled rejection', async () => {
    const emitter = new EventEmitter<TestEvents>();
    emitter.on('changed', async () => {
      throw new Error('async listener bug');
    });
    safeEmit(emitter, 'test pool')('changed', { version: 'v1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings()).toEqual([{ message: "a 'changed' listener of the test pool threw", code: 'KEYWARD_LISTENER_ERROR', detail: expect.stringContaining('async listener bug') }]);
  });

  it('describes whatever a listener throws, even what cannot be turned into text', () => {
    const emitter = new EventEmitter<TestEvents>();
    emitter.on('changed', () => {
      throw 'a string';
    });
    emitter.on('changed', () => {
      throw Object.create(null);
    });
    safeEmit(emitter, 'test pool')('changed', { version: 'v1' });
    expect(warnings().map((w) => w.detail)).toEqual(['a string', '[object Object]']);
  });

  it("turns an 'error' nobody listens to into a warning instead of a throw", () => {
    const emitter = new EventEmitter<TestEvents>();
    expect(safeEmit(emitter, 'test pool')('error', new Error('connection lost'))).toBe(false);
    expect(warnings()).toEqual([{ message: "the test pool emitted 'error' with no 'error' listener", code: 'KEYWARD_UNHANDLED_ERROR_EVENT', detail: expect.stringContaining('connection lost') }]);
  });

  it('puts no event argument in a warning', () => {
    const emitter = new EventEmitter<TestEvents>();
    emitter.on('changed', () => {
      throw new Error('listener bug');
    });
    safeEmit(emitter, 'test pool')('changed', { version: 'canary-version-3f9a' });
    expect(JSON.stringify(emitWarning.mock.calls)).not.toContain('canary-version-3f9a');
  });
});
