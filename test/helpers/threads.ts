/** Runs a body at given thread counts (process-wide, native.setThreads), restoring the previous counts after. */
import { native } from '../../lib/native';
import type { ThreadCounts } from '../../lib';

export function withThreads<T>(counts: Partial<ThreadCounts>, body: () => T): T {
  const before = native.getThreads();
  native.setThreads(counts);
  try {
    return body();
  } finally {
    native.setThreads(before);
  }
}

/** withThreads for an async body: the counts stay set until its promise settles. */
export async function withThreadsAsync<T>(counts: Partial<ThreadCounts>, body: () => Promise<T>): Promise<T> {
  const before = native.getThreads();
  native.setThreads(counts);
  try {
    return await body();
  } finally {
    native.setThreads(before);
  }
}
