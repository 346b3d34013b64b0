/** The pass condition of one fuzzed call. Returns a description of the violation, if any. */
import type { Mutation } from './malformed';
import { type Target, sameSnapshot } from './target';

export type Outcome = { ok: true; snapshot: (number | string)[] } | { ok: false; error: unknown; thrownSync: boolean };

/** "<name> must be …" is how every boundary message names its parameter. */
const NAMES_A_PARAMETER = /[\w.[\]]+ must (be|have)\b/;
/** Numeric failures the kernels report as a status (plain Error with a code). */
const NUMERIC_CODES = ['ERR_NON_FINITE', 'ERR_NOT_POSITIVE_DEFINITE'];
/** Valid sizes whose estimated memory exceeds the limit (memory-limit.ts). */
const RESOURCE_CODES = ['ERR_OUT_OF_MEMORY'];

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-Error ${String(e)}`;
}

function properRejection(target: Target, m: Mutation, e: unknown, mustName: boolean): string | undefined {
  if (!(e instanceof TypeError || e instanceof RangeError))
    return `expected TypeError/RangeError, got ${describeError(e)}`;
  if (target.errorPrefix && !e.message.startsWith(target.errorPrefix))
    return `message lacks the prefix '${target.errorPrefix}': ${e.message}`;
  if (!NAMES_A_PARAMETER.test(e.message)) return `message names no parameter: ${e.message}`;
  if (mustName && m.names.length && !m.names.some((n) => e.message.includes(n)))
    return `message does not name ${m.names.join(' or ')}: ${e.message}`;
  return undefined;
}

export function checkOutcome(
  target: Target,
  m: Mutation,
  outcome: Outcome,
  baseline: (number | string)[]
): string | undefined {
  if (outcome.ok) {
    if (m.expect === 'reject') return 'accepted, expected a TypeError/RangeError';
    if (m.expect === 'same' || m.expect === 'sameOrReject') {
      const diff = sameSnapshot(outcome.snapshot, baseline);
      if (diff) return `result differs from the unmutated call: ${diff}`;
    }
    return undefined;
  }
  const e = outcome.error;
  if (target.async && outcome.thrownSync) return `the async twin threw synchronously: ${describeError(e)}`;
  if (m.expect === 'same') return `rejected a valid call: ${describeError(e)}`;
  if (m.expect === 'any') {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === 'string' && (NUMERIC_CODES.includes(code) || RESOURCE_CODES.includes(code))) return undefined;
    return properRejection(target, m, e, false);
  }
  return properRejection(target, m, e, true);
}
