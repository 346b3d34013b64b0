/**
 * A model of the sharded persistent loop's parallel efficiency on many machines, fed by what
 * bench:parallel measured on this one. Assumptions (printed with the table):
 * - a shard's compute per iteration is linear in its sequences (blocks 2, 3, 5, 6 and its Gram
 *   parts are all per-sample work: c seconds per sequence, measured);
 * - the coordinator's solves cost the same at any N (their size is (d+h+1)² and (h+1)², measured);
 * - a hub topology (one Redis node or one coordinator NIC): every round, each shard's contribution
 *   arrives through the hub's link and each publication leaves through it once per shard, so the
 *   hub moves S × (bytes per shard per iteration) at the link's rate, plus a latency per round;
 * - the machines are as fast as this one's cores and do nothing else.
 */

export interface MeasuredIteration {
  /** Seconds of shard compute per sequence per iteration (slowest shard's compute ÷ its sequences). */
  computePerSequence: number;
  /** Seconds the coordinator spends per iteration (the two solves, ρ, the record). */
  coordinatorSeconds: number;
  /** Bytes one shard receives and sends per iteration (publications + contributions). */
  bytesPerShard: number;
  /** Reduction rounds per iteration. */
  rounds: number;
}

export interface Network {
  /** Link rate in bytes per second (10 GbE ≈ 1.25e9). */
  bytesPerSecond: number;
  /** Seconds per round trip beyond the bytes (network + Redis + scheduling). */
  latencyPerRound: number;
}

export const TEN_GBE: Network = { bytesPerSecond: 1.25e9, latencyPerRound: 5e-4 };

export interface Projection {
  machines: number;
  sequences: number;
  perShard: number;
  iterationSeconds: number;
  communicationSeconds: number;
  /** Communication's share of an iteration. */
  communicationFraction: number;
  /** One machine's time ÷ (machines × the sharded time). */
  efficiency: number;
}

/** The iteration time and efficiency of `sequences` sequences on `machines` shards. */
export function project(m: MeasuredIteration, net: Network, machines: number, sequences: number): Projection {
  const perShard = Math.ceil(sequences / machines);
  const compute = m.computePerSequence * perShard;
  const communicationSeconds = m.rounds * net.latencyPerRound + (machines * m.bytesPerShard) / net.bytesPerSecond;
  const iterationSeconds = compute + m.coordinatorSeconds + communicationSeconds;
  const single = m.computePerSequence * sequences + m.coordinatorSeconds;
  return {
    machines,
    sequences,
    perShard,
    iterationSeconds,
    communicationSeconds,
    communicationFraction: communicationSeconds / iterationSeconds,
    efficiency: single / (machines * iterationSeconds),
  };
}

/** The smallest sequences per shard at which communication stays within `fraction` of an iteration. */
export function minimumPerShard(m: MeasuredIteration, net: Network, machines: number, fraction: number): number {
  const communication = m.rounds * net.latencyPerRound + (machines * m.bytesPerShard) / net.bytesPerSecond;
  // communication ≤ fraction × (c·n + coordinator + communication)  ⇔  n ≥ …
  const n = ((communication * (1 - fraction)) / fraction - m.coordinatorSeconds) / m.computePerSequence;
  return Math.max(1, Math.ceil(n));
}

/** Markdown lines: the table for 8, 32 and 128 machines at 1M and 10M sequences, with its assumptions. */
export function formatProjection(m: MeasuredIteration, net: Network = TEN_GBE): string[] {
  const lines = [
    `Model (measured here: ${(m.computePerSequence * 1e6).toFixed(1)} µs of shard compute per sequence per iteration, ` +
      `${(m.coordinatorSeconds * 1e3).toFixed(1)} ms coordinator, ${(m.bytesPerShard / 1024).toFixed(0)} KiB per shard ` +
      `per iteration in ${m.rounds} rounds; assumed: hub link ${((net.bytesPerSecond * 8) / 1e9).toFixed(0)} Gbit/s, ` +
      `${(net.latencyPerRound * 1e3).toFixed(1)} ms per round, machines as fast as this one):`,
    '',
    '| machines | sequences | per shard | iteration | communication | share | efficiency |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const sequences of [1e6, 1e7])
    for (const machines of [8, 32, 128]) {
      const p = project(m, net, machines, sequences);
      lines.push(
        `| ${machines} | ${sequences.toExponential(0)} | ${p.perShard} | ${p.iterationSeconds.toFixed(2)} s | ` +
          `${(p.communicationSeconds * 1e3).toFixed(1)} ms | ${(100 * p.communicationFraction).toFixed(1)}% | ` +
          `${p.efficiency.toFixed(2)} |`
      );
    }
  lines.push('');
  for (const machines of [8, 32, 128])
    lines.push(
      `communication ≤ 10% of an iteration on ${machines} machines from ` +
        `${minimumPerShard(m, net, machines, 0.1)} sequences per shard`
    );
  return lines;
}
