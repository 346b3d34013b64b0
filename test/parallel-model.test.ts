/** The many-machine model of bench:parallel: its parts add up and its threshold is where it says. */
import test from 'ava';
import { TEN_GBE, minimumPerShard, project } from '../scripts/bench/parallel-model';

const measured = { computePerSequence: 2e-4, coordinatorSeconds: 0.01, bytesPerShard: 860_000, rounds: 2 };

test('an iteration is compute + coordinator + communication, and one machine is fully efficient', (t) => {
  const p = project(measured, TEN_GBE, 32, 1e6);
  const communication = 2 * TEN_GBE.latencyPerRound + (32 * 860_000) / TEN_GBE.bytesPerSecond;
  t.is(p.perShard, 31_250);
  t.true(Math.abs(p.communicationSeconds - communication) < 1e-12);
  t.true(Math.abs(p.iterationSeconds - (2e-4 * 31_250 + 0.01 + communication)) < 1e-9);
  const one = project({ ...measured, bytesPerShard: 0, rounds: 0 }, TEN_GBE, 1, 1e6);
  t.true(Math.abs(one.efficiency - 1) < 1e-12);
  t.true(project(measured, TEN_GBE, 128, 1e6).efficiency < p.efficiency, 'more machines, more communication');
});

test('minimumPerShard is the smallest shard whose communication share is within the bound', (t) => {
  for (const machines of [8, 32, 128]) {
    const n = minimumPerShard(measured, TEN_GBE, machines, 0.1);
    t.true(project(measured, TEN_GBE, machines, n * machines).communicationFraction <= 0.1 + 1e-12);
    if (n > 1) t.true(project(measured, TEN_GBE, machines, (n - 1) * machines).communicationFraction > 0.1);
  }
});
