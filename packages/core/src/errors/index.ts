export * from './keyward-error.js';
export * from './bootstrap-error.js';
export * from './http-answer.js';
