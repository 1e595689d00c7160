// A Redis of a test's own, started and stopped by the stack script (same code path as the
// shared one) on its own port and data folder, so fault tests never disturb the shared Redis.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const STACK = join(ROOT, 'scripts/stack');

export class ExtraRedis {
  readonly url: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly dir: string;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {
    this.dir = join(ROOT, '.stack', 'extra', name);
    this.env = { ...process.env, PRISM_STACK_DIR: this.dir, PRISM_REDIS_PORT: String(port) };
    this.url = `redis://127.0.0.1:${port}`;
  }

  private stack(command: 'up' | 'down'): void {
    execFileSync(STACK, [command, 'redis'], { env: this.env, stdio: 'pipe' });
  }

  up(): void {
    this.stack('up');
  }

  down(): void {
    this.stack('down');
  }

  private pid(): number {
    return Number(readFileSync(join(this.dir, 'run/redis.pid'), 'utf8'));
  }

  /** Freezes the server: connections stay open, nothing answers. */
  hang(): void {
    process.kill(this.pid(), 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid(), 'SIGCONT');
  }
}
