// `@keyward/nestjs/terminus`: the parts that need `@nestjs/terminus`, apart from the main entry,
// so that apps without terminus can import `@keyward/nestjs`.
export { KeywardHealthIndicator, type KeywardHealthCheckOptions } from './keyward-health.indicator.js';
