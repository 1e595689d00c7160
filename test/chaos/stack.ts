// The chaos run's own stack: Temporal, Postgres, Redis, NATS and Kafka started by scripts/stack
// (the same code path as the shared stack) on ports of their own and with data under
// .stack/chaos/, so faults can stop and restart them without disturbing anyone else's servers.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const STACK = join(ROOT, 'scripts/stack');
/** A first Kafka or Postgres start on a busy machine can take a while. */
const STACK_TIMEOUT_MS = 240_000;
const HOST = '127.0.0.1';

export type ChaosService = 'temporal' | 'postgres' | 'redis' | 'nats' | 'kafka';
export const SERVICES: readonly ChaosService[] = ['temporal', 'postgres', 'redis', 'nats', 'kafka'];

export interface ChaosPorts {
  temporal: number;
  temporalUi: number;
  temporalMetrics: number;
  postgres: number;
  redis: number;
  nats: number;
  natsMonitor: number;
  kafka: number;
  kafkaController: number;
  workerHttp: number;
  workerMetrics: number;
}

/** Every port of the run within 16500–16599 (override the base with PRISM_CHAOS_PORT_BASE). */
export function chaosPorts(base = Number(process.env.PRISM_CHAOS_PORT_BASE ?? 16500)): ChaosPorts {
  return {
    temporal: base,
    temporalUi: base + 1,
    temporalMetrics: base + 2,
    postgres: base + 10,
    redis: base + 20,
    nats: base + 30,
    natsMonitor: base + 31,
    kafka: base + 40,
    kafkaController: base + 41,
    workerHttp: base + 50,
    workerMetrics: base + 51,
  };
}

export class ChaosStack {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly ports: ChaosPorts = chaosPorts(),
    dir = join(ROOT, '.stack', 'chaos'),
  ) {
    this.dir = dir;
    this.env = {
      ...process.env,
      PRISM_STACK_DIR: dir,
      PRISM_TEMPORAL_PORT: String(ports.temporal),
      PRISM_TEMPORAL_UI_PORT: String(ports.temporalUi),
      PRISM_TEMPORAL_METRICS_PORT: String(ports.temporalMetrics),
      PRISM_PG_PORT: String(ports.postgres),
      PRISM_REDIS_PORT: String(ports.redis),
      PRISM_NATS_PORT: String(ports.nats),
      PRISM_NATS_MONITOR_PORT: String(ports.natsMonitor),
      PRISM_KAFKA_PORT: String(ports.kafka),
      PRISM_KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
    };
  }

  get temporalAddress(): string {
    return `${HOST}:${this.ports.temporal}`;
  }
  get temporalUi(): string {
    return `http://${HOST}:${this.ports.temporalUi}`;
  }
  get postgresUrl(): string {
    return `postgres://prism:prism@${HOST}:${this.ports.postgres}/prism`;
  }
  /** One Redis server; `db` picks a database (the session regions use their own). */
  redisUrl(db = 0): string {
    return `redis://${HOST}:${this.ports.redis}/${db}`;
  }
  get natsUrl(): string {
    return `nats://${HOST}:${this.ports.nats}`;
  }
  get kafkaBrokers(): string[] {
    return [`${HOST}:${this.ports.kafka}`];
  }

  private run(command: 'up' | 'down' | 'status', services: readonly ChaosService[]): Promise<string> {
    return new Promise((res, rej) => {
      execFile(STACK, [command, ...services], { env: this.env, timeout: STACK_TIMEOUT_MS }, (err, out, stderr) => {
        if (err && command !== 'status') {
          rej(new Error(`scripts/stack ${command} ${services.join(' ')} (chaos) failed: ${stderr || err.message}`));
        } else res(out);
      });
    });
  }

  /** Starts what is not running (idempotent); the venv and Kafka jars come from the main stack. */
  async up(services: readonly ChaosService[] = SERVICES): Promise<void> {
    this.shareInstalls();
    await this.run('up', services);
  }

  async down(services: readonly ChaosService[] = SERVICES): Promise<void> {
    await this.run('down', services);
  }

  status(): Promise<string> {
    return this.run('status', SERVICES);
  }

  /**
   * The Temporal CLI's venv and the Kafka broker's jars are symlinked from the main stack's folder,
   * so a private stack starts without installing them again.
   */
  private shareInstalls(): void {
    const main = join(ROOT, '.stack');
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(join(main, 'venv')) && !existsSync(join(this.dir, 'venv'))) {
      symlinkSync(join(main, 'venv'), join(this.dir, 'venv'));
    }
    if (existsSync(join(main, 'kafka/libs')) && existsSync(join(main, 'kafka/.pom'))) {
      const home = join(this.dir, 'kafka');
      mkdirSync(home, { recursive: true });
      if (!existsSync(join(home, 'libs'))) symlinkSync(join(main, 'kafka/libs'), join(home, 'libs'));
      copyFileSync(join(main, 'kafka/.pom'), join(home, '.pom'));
    }
  }
}
