/** An ascent worker thread (see ascend-pool.ts): drains the chunks of each job it is sent. */
import { parentPort } from 'node:worker_threads';
import { type AscendJob, doNextChunk } from './span';

parentPort?.on('message', (job: AscendJob) => {
  while (doNextChunk(job));
  parentPort!.postMessage('done');
});
// First message: the script loaded. A worker that fails before it never took a chunk.
parentPort?.postMessage('ready');
