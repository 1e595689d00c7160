// The CDC benchmark's peer: Debezium (embedded engine + Postgres connector, bench/peers/debezium)
// built once with Maven into .stack/bench/debezium (rebuilt when its pom or source changes; never
// committed) and run with java against the same Postgres and Kafka as the other contenders.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const SOURCE = join(ROOT, 'bench/peers/debezium');
const JAVA_FILE = join(SOURCE, 'src/main/java/prism/bench/DebeziumPeer.java');
const BUILD = join(ROOT, '.stack/bench/debezium');

export interface DebeziumConfig {
  postgresUrl: string;
  slot: string;
  publication: string;
  /** "schema.table", comma-separated. */
  tables: string;
  brokers: string[];
  topic: string;
}

export interface DebeziumProcess {
  pid: number;
  stop(): Promise<void>;
}

const fingerprint = (): string =>
  createHash('sha256')
    .update(readFileSync(join(SOURCE, 'pom.xml')))
    .update(readFileSync(JAVA_FILE))
    .digest('hex');

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the peer unless the cache holds this source's build; returns why it cannot run (no java
 * or mvn, or a failed build) or null when it is ready.
 */
export function buildDebezium(): string | null {
  const stamp = join(BUILD, 'fingerprint');
  const wanted = fingerprint();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return null;
  if (!has('java', ['-version'])) return 'java not found';
  if (!has('mvn', ['-v'])) return 'mvn not found';
  mkdirSync(BUILD, { recursive: true });
  process.stdout.write(' [building the Debezium peer with Maven…]');
  try {
    execFileSync('nice', ['-n', '15', 'mvn', '-q', '-B', 'package', `-DbuildDir=${BUILD}`], {
      cwd: SOURCE,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    const out = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-5).join(' | ');
    return `mvn package failed: ${out || e.message}`;
  }
  writeFileSync(stamp, wanted);
  return null;
}

/** Starts the peer (built by buildDebezium) and waits until its connector task runs. */
export async function startDebezium(config: DebeziumConfig): Promise<DebeziumProcess> {
  const url = new URL(config.postgresUrl);
  const classpath = `${join(BUILD, 'debezium-peer-1.jar')}:${join(BUILD, 'lib')}/*`;
  const proc = spawn('java', ['-Xmx512m', '-cp', classpath, 'prism.bench.DebeziumPeer'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PG_HOST: url.hostname,
      PG_PORT: url.port || '5432',
      PG_USER: decodeURIComponent(url.username),
      PG_PASSWORD: decodeURIComponent(url.password),
      PG_DATABASE: url.pathname.slice(1),
      SLOT: config.slot,
      PUBLICATION: config.publication,
      TABLES: config.tables,
      KAFKA_BROKERS: config.brokers.join(','),
      TOPIC: config.topic,
    },
  });
  let output = '';
  proc.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await Promise.race([
    new Promise<void>((r) => proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && r())),
    exited.then((code) => {
      throw new Error(`debezium peer exited before starting (${code}): ${output.slice(-1000)}`);
    }),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`debezium peer not ready after 120 s: ${output.slice(-1000)}`)), 120_000),
    ),
  ]);
  return {
    pid: proc.pid!,
    async stop() {
      proc.stdin.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
