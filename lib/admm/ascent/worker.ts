/** An ascent worker thread (see pool.ts): drains the spans of each job it is sent. */
import { parentPort } from 'node:worker_threads';
import { type AscendJob, doNextSpan } from './span';

parentPort?.on('message', (job: AscendJob) => {
  while (doNextSpan(job));
  parentPort!.postMessage('done');
});
// First message: the script loaded. A worker that fails before it never took a span.
parentPort?.postMessage('ready');
