// A stack service of a test's own (postgres, redis, nats or kafka), started and stopped by the
// stack script (same code path as the shared one) on its own ports and data folder, so fault
// tests can stop, restart or freeze it without disturbing the shared stack.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const STACK = join(ROOT, 'scripts/stack');
/** Kafka's first start resolves ~100 jars from Maven and formats storage: allow for it. */
const STACK_TIMEOUT_MS = 180_000;

export type StackService = 'postgres' | 'redis' | 'nats' | 'kafka';

export interface ExtraServiceOptions {
  port: number;
  /** kafka: the KRaft controller port; nats: the monitoring port. */
  secondPort?: number;
  /** More PRISM_* variables for the stack script (e.g. PRISM_PG_WAL_LEVEL). */
  env?: Record<string, string>;
}

const PORT_VARIABLES: Record<StackService, [string, string | undefined]> = {
  postgres: ['PRISM_PG_PORT', undefined],
  redis: ['PRISM_REDIS_PORT', undefined],
  nats: ['PRISM_NATS_PORT', 'PRISM_NATS_MONITOR_PORT'],
  kafka: ['PRISM_KAFKA_PORT', 'PRISM_KAFKA_CONTROLLER_PORT'],
};

export class ExtraService {
  readonly dir: string;
  protected readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly service: StackService,
    readonly name: string,
    readonly options: ExtraServiceOptions,
  ) {
    this.dir = join(ROOT, '.stack', 'extra', name);
    const [portVar, secondVar] = PORT_VARIABLES[service];
    this.env = { ...process.env, ...options.env, PRISM_STACK_DIR: this.dir, [portVar]: String(options.port) };
    if (secondVar) this.env[secondVar] = String(options.secondPort ?? options.port + 1);
  }

  get port(): number {
    return this.options.port;
  }

  /** How clients reach it: a URL, or host:port for Kafka. */
  get url(): string {
    const host = '127.0.0.1';
    switch (this.service) {
      case 'postgres':
        return `postgres://prism:prism@${host}:${this.port}/prism`;
      case 'redis':
        return `redis://${host}:${this.port}`;
      case 'nats':
        return `nats://${host}:${this.port}`;
      case 'kafka':
        return `${host}:${this.port}`;
    }
  }

  private stack(command: 'up' | 'down'): void {
    try {
      execFileSync(STACK, [command, this.service], { env: this.env, stdio: 'pipe', timeout: STACK_TIMEOUT_MS });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(
        `scripts/stack ${command} ${this.service} (${this.name}) failed: ${e.stderr?.toString() ?? e.message}`,
      );
    }
  }

  /** The same, without blocking the test's event loop (its writers and consumers go on meanwhile). */
  private stackAsync(command: 'up' | 'down'): Promise<void> {
    return new Promise((res, rej) => {
      execFile(STACK, [command, this.service], { env: this.env, timeout: STACK_TIMEOUT_MS }, (err, _out, stderr) => {
        if (err)
          rej(new Error(`scripts/stack ${command} ${this.service} (${this.name}) failed: ${stderr || err.message}`));
        else res();
      });
    });
  }

  up(): void {
    if (this.service === 'kafka') this.shareKafkaJars();
    this.stack('up');
  }

  down(): void {
    this.stack('down');
  }

  startAsync(): Promise<void> {
    if (this.service === 'kafka') this.shareKafkaJars();
    return this.stackAsync('up');
  }

  stopAsync(): Promise<void> {
    return this.stackAsync('down');
  }

  restart(): void {
    this.down();
    this.up();
  }

  protected pid(): number {
    return Number(readFileSync(join(this.dir, `run/${this.service}.pid`), 'utf8'));
  }

  /** Freezes the server: connections stay open, nothing answers (not for postgres). */
  hang(): void {
    process.kill(this.pid(), 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid(), 'SIGCONT');
  }

  /**
   * The broker's jars come from the main stack's folder (a symlink and its stamp), so a private
   * Kafka starts without resolving them from Maven again.
   */
  private shareKafkaJars(): void {
    const main = join(process.env.PRISM_STACK_DIR ?? join(ROOT, '.stack'), 'kafka');
    const home = join(this.dir, 'kafka');
    if (!existsSync(join(main, 'libs')) || !existsSync(join(main, '.pom'))) return;
    mkdirSync(home, { recursive: true });
    const libs = join(home, 'libs');
    if (!existsSync(libs)) {
      rmSync(libs, { force: true }); // a link left dangling by a stack folder that moved
      symlinkSync(join(main, 'libs'), libs);
    }
    copyFileSync(join(main, '.pom'), join(home, '.pom'));
  }
}
