/**
 * The pinned fixed-seed histories (scripts/history-pin.ts): every mode's records, final weights and
 * persistent state, bit for bit as the fixture records them. On another CPU, OpenBLAS may pick
 * other kernels and round differently: there the numbers are compared within a relative 1e-3.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { PIN_CASES, PIN_FIXTURE, type PinnedHistories, pinnedHistories } from '../scripts/history-pin';

const fixture = JSON.parse(readFileSync(PIN_FIXTURE, 'utf8')) as PinnedHistories;

/** Paths where `a` and `b` differ by more than a relative `tolerance` (numbers) or at all (anything else). */
function differences(a: unknown, b: unknown, tolerance: number, at = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b)) ? [] : [`${at}: ${a} vs ${b}`];
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tolerance, `${at}.${k}`)
    );
  }
  return a === b ? [] : [`${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

test('the fixture pins every case of the script', (t) => {
  t.deepEqual(
    Object.keys(fixture.runs),
    PIN_CASES.map((c) => c.name)
  );
  for (const [name, run] of Object.entries(fixture.runs)) t.true(run.history.length > 0, name);
});

test('a fixed-seed run of every mode reproduces the pinned history', async (t) => {
  const now = await pinnedHistories();
  if (now.cpu === fixture.cpu) {
    t.deepEqual(now.runs, fixture.runs);
    return;
  }
  t.log(`fixture made on "${fixture.cpu}", this is "${now.cpu}": numbers compared within 1e-3, checksums skipped`);
  const strip = (h: PinnedHistories) =>
    Object.fromEntries(Object.entries(h.runs).map(([k, { weights: _w, state: _s, ...rest }]) => [k, rest]));
  t.deepEqual(differences(strip(now), strip(fixture), 1e-3), []);
});
