/** The coordinator's readiness rules, shared by the persistent and the mini-batch coordinators. */
import type { Contribution } from './transport';

/**
 * Synchronous (staleness 0): every shard answered `version`. Bounded staleness τ: at least one
 * shard answered `version`, and every shard has answered this phase at round ≥ k − τ.
 */
export function isReady(
  arrived: ReadonlyMap<number, Contribution>,
  shards: number,
  staleness: number,
  k: number,
  version: number
): boolean {
  if (arrived.size < shards) return false;
  let fresh = 0;
  for (const c of arrived.values()) {
    if (c.version === version) fresh++;
    else if (staleness === 0 || c.iteration < k - staleness) return false;
  }
  return fresh > 0;
}
