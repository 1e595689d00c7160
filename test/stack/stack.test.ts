// The local stack answers, and docker-compose.yml offers the same services on the same ports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const ROOT = join(__dirname, '../../..');
const SERVICES = ['temporal', 'postgres', 'redis', 'nats', 'kafka'];

describe('local stack', () => {
  it('stack status reports all five services answering', () => {
    const out = execFileSync(join(ROOT, 'scripts/stack'), ['status'], { encoding: 'utf8' });
    for (const service of SERVICES) assert.match(out, new RegExp(`^${service}\\s+up\\s`, 'm'), out);
  });

  it('stack up on a running stack is a quick no-op', () => {
    const start = Date.now();
    execFileSync(join(ROOT, 'scripts/stack'), ['up'], { encoding: 'utf8', stdio: 'pipe' });
    // Reported, not asserted: the machine is noisy.
    process.stdout.write(`# warm stack up took ${Date.now() - start} ms\n`);
  });

  it('docker-compose.yml offers every service the stack script starts, on the same ports', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { ports?: string[]; image?: string }>;
    };
    const ports: Record<string, string[]> = {
      temporal: ['7233', '8233'],
      postgres: ['5432'],
      redis: ['6379'],
      nats: ['4222'],
      kafka: ['9092'],
    };
    for (const service of SERVICES) {
      const entry = compose.services[service];
      assert.ok(entry, `service ${service} missing from docker-compose.yml`);
      assert.ok(entry.image, `service ${service} has no image`);
      for (const port of ports[service]) {
        assert.ok(
          entry.ports?.some((p) => p.startsWith(`${port}:`)),
          `${service} does not publish ${port}`,
        );
      }
    }
    assert.match(JSON.stringify(compose.services.postgres), /wal_level=logical/);
    assert.match(JSON.stringify(compose.services.nats), /-js/);
  });
});
