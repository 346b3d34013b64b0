/**
 * The run's Lua scripts. Redis runs each atomically, so a check (is this token, this epoch still
 * current?) and the write it guards cannot be separated by another client's write: a paused
 * zombie shard or a deposed coordinator that wakes up is refused, whatever it had in flight.
 * Refusals are error replies whose first word is a RedisTransportError code.
 */
import crypto from 'node:crypto';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha1: crypto.createHash('sha1').update(source).digest('hex') };
}

/**
 * A shard's write, fenced by its incarnation token and the run's configuration hash.
 * KEYS: tokens, config, heartbeat, contributions, arrivals, failures.
 * ARGV: shard, token, configHash, ttlMs, op ('heartbeat' | 'contribute' | 'fail' | 'leave'), then for
 * 'contribute': tagField, tag, bodyField, body, arrivalsMaxLength, iteration, phase, version,
 * versionField (a contribution older than the one stored is dropped: the latest stays);
 * for 'fail': the failure (JSON). Returns 'OK', or 'OLDER' for a dropped contribution.
 */
export const SHARD_WRITE = script(
  'shard-write',
  `local current = redis.call('HGET', KEYS[1], ARGV[1])
if current ~= ARGV[2] then
  return redis.error_reply('ERR_STALE_WRITER shard ' .. ARGV[1] .. ': token ' .. ARGV[2] ..
    ' was superseded by ' .. (current or 'none'))
end
local hash = redis.call('HGET', KEYS[2], 'hash')
if hash ~= ARGV[3] then
  return redis.error_reply('ERR_CONFIG_MISMATCH the run has configuration ' .. (hash or 'none') ..
    ', the shard registered with ' .. ARGV[3])
end
if ARGV[5] == 'leave' then
  redis.call('DEL', KEYS[3])
  return 'OK'
end
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
if ARGV[5] == 'contribute' then
  local stored = tonumber(redis.call('HGET', KEYS[4], ARGV[14]))
  if stored and stored > tonumber(ARGV[13]) then return 'OLDER' end
  redis.call('HSET', KEYS[4], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[14], ARGV[13])
  redis.call('XADD', KEYS[5], 'MAXLEN', ARGV[10], '*', 'shard', ARGV[1], 'iteration', ARGV[11],
    'phase', ARGV[12], 'version', ARGV[13])
elseif ARGV[5] == 'fail' then
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[6])
end
return 'OK'`
);

/**
 * A coordinator's write, fenced by its epoch.
 * KEYS[1]: epoch; ARGV[1]: the writer's epoch, ARGV[2]: op.
 * - 'publish': KEYS[2] versions; ARGV[3] entry id, ARGV[4] max length, ARGV[5…] field, value pairs;
 * - 'renew': KEYS[2] lease; ARGV[3] lease value, ARGV[4] lease ms (re-takes a lapsed lease that
 *   nobody took: the epoch is unchanged, so nobody else wrote);
 * - 'release': KEYS[2] lease;
 * - 'complete': KEYS[2] lease, KEYS[3…] the run's other keys; ARGV[3] how long they stay (ms).
 */
export const COORDINATOR_WRITE = script(
  'coordinator-write',
  `local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return redis.error_reply('ERR_STALE_WRITER coordinator epoch ' .. ARGV[1] .. ' was superseded by ' ..
    (epoch or 'none'))
end
local op = ARGV[2]
if op == 'publish' then
  local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', ARGV[4], ARGV[3], unpack(ARGV, 5))
  if type(added) == 'table' and added.err then
    return redis.error_reply('ERR_VERSION_ORDER entry ' .. ARGV[3] .. ': ' .. added.err)
  end
elseif op == 'renew' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
elseif op == 'release' then
  redis.call('DEL', KEYS[2])
elseif op == 'complete' then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  for i = 3, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 'OK'`
);

/**
 * Takes the leader lease: refuses while another coordinator holds it or when the run has another
 * configuration; otherwise raises the epoch (the new fencing token) and records the configuration.
 * KEYS: lease, epoch, config, tokens, incarnations, contributions, arrivals, versions, failures.
 * ARGV: id, leaseMs, configHash, shards, configBody, group. Returns the new epoch.
 */
export const ACQUIRE = script(
  'acquire',
  `local hash = redis.call('HGET', KEYS[3], 'hash')
if hash and hash ~= ARGV[3] then
  return redis.error_reply('ERR_CONFIG_MISMATCH the run has configuration ' .. hash .. ', not ' .. ARGV[3])
end
local shards = redis.call('HGET', KEYS[3], 'shards')
if shards and shards ~= ARGV[4] then
  return redis.error_reply('ERR_CONFIG_MISMATCH the run has ' .. shards .. ' shards, not ' .. ARGV[4])
end
local holder = redis.call('GET', KEYS[1])
if holder then
  return redis.error_reply('ERR_LEASE_HELD by ' .. holder .. ' for ' .. redis.call('PTTL', KEYS[1]) .. ' ms more')
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[3], 'hash', ARGV[3], 'shards', ARGV[4], 'body', ARGV[5])
for i = 2, #KEYS do redis.call('PERSIST', KEYS[i]) end
redis.pcall('XGROUP', 'CREATE', KEYS[7], ARGV[6], '$', 'MKSTREAM')
return epoch`
);

/**
 * Registers a new incarnation of a shard: its token supersedes the previous one at once, and
 * the previous one's failure record goes.
 * KEYS: config, tokens, incarnations, heartbeat, failures. ARGV: shard, nonce, ttlMs, expected config hash
 * ('' accepts the run's). Returns nil while the run has no configuration (no coordinator yet),
 * else {token, configHash, configBody}.
 */
export const REGISTER = script(
  'register',
  `local config = redis.call('HMGET', KEYS[1], 'hash', 'shards', 'body')
if not config[1] then return nil end
if ARGV[4] ~= '' and config[1] ~= ARGV[4] then
  return redis.error_reply('ERR_CONFIG_MISMATCH the run has configuration ' .. config[1] .. ', the shard expects ' ..
    ARGV[4])
end
if tonumber(ARGV[1]) >= tonumber(config[2]) then
  return redis.error_reply('ERR_CONFIG_MISMATCH shard ' .. ARGV[1] .. ' is out of range: the run has ' ..
    config[2] .. ' shards')
end
local token = redis.call('HINCRBY', KEYS[3], ARGV[1], 1) .. '.' .. ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], token)
redis.call('SET', KEYS[4], token, 'PX', ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[1])
return {token, config[1], config[3]}`
);
