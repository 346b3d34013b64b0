/** The Redis transport: coordinator and shards in separate processes or machines (needs `ioredis`). */
export { RedisCoordinatorTransport } from './coordinator';
export { RedisShardTransport } from './shard';
export { RedisTransportError, type RedisTransportErrorCode } from './errors';
export type { RedisCoordinatorOptions, RedisShardOptions } from './options';
