/** A child process (by default test/helpers/redis-child.ts), its JSON lines read as a queue. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const CHILD = path.join(__dirname, 'redis-child.js');

/** A child playing a shard, a worker or a coordinator (the roles of redis-child.ts). */
export class Child {
  readonly process: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env, script = CHILD) {
    this.process = spawn(process.execPath, [script, ...args], { env });
    this.process.stderr.on('data', (d) => (this.stderr += d));
    readline.createInterface({ input: this.process.stdout }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
  }

  next(ms = 30_000): Promise<Record<string, unknown>> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(JSON.parse(queued));
    return new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`no line from the child in ${ms} ms; stderr: ${this.stderr}`));
      const timer = setTimeout(fail, ms);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      };
    });
  }

  send(line: string): void {
    this.process.stdin.write(line + '\n');
  }

  signal(name: NodeJS.Signals): void {
    this.process.kill(name);
  }

  /** The exit code (null when killed by a signal) once the child exits. */
  exit(ms = 30_000): Promise<number | null> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
    return new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`the child did not exit in ${ms} ms; stderr: ${this.stderr}`));
      const timer = setTimeout(fail, ms);
      this.process.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  async end(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((r) => this.process.once('exit', r));
    this.process.kill('SIGCONT');
    this.process.kill('SIGKILL');
    await exited;
  }
}
