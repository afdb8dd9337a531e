export { RedisHub, type RedisHubOptions } from './redis-hub.js';
