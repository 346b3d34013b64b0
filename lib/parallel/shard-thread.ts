/** A shard's worker thread (threads.ts): builds the shard from workerData and answers publications until 'stop'. */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { runShard } from './shard';
import { shardCore } from './starts';
import type { FromShard, ThreadShardSpec, ToShard } from './threads';
import type { Contribution, Publication, ShardTransport } from './transport';

/** The shard's side of the thread transport: the newest publication posted, contributions posted back. */
class PortShardTransport implements ShardTransport {
  private latest: Publication | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly port: MessagePort,
    readonly shard: number,
    readonly token: string
  ) {
    port.on('message', (m: ToShard) => {
      if (m.type !== 'publication') return;
      if (!this.latest || m.publication.version > this.latest.version) this.latest = m.publication;
      this.wake?.();
    });
  }

  async contribute(contribution: Contribution): Promise<void> {
    const message: FromShard = { type: 'contribution', contribution };
    this.port.postMessage(message, [contribution.body.buffer as ArrayBuffer]);
  }

  async nextPublication(after: number): Promise<Publication> {
    while (!this.latest || this.latest.version <= after) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.latest;
  }

  async close(): Promise<void> {
    this.port.close();
  }
}

const spec = workerData as ThreadShardSpec;
const port = parentPort!;
const transport = new PortShardTransport(port, spec.shard, spec.token);
const core = shardCore(spec, spec.shard);
runShard(core, transport).then(
  () => transport.close(),
  (e: unknown) => {
    const error = e instanceof Error ? e : new Error(String(e));
    const message: FromShard = { type: 'failed', message: error.message, code: (error as { code?: string }).code };
    port.postMessage(message);
  }
);
