// Nothing outside src/drivers constructs a client of ioredis, pg, kafkajs or NATS: every backend
// is opened by a driver (through BackendPool, with its breaker, bulkhead and metrics). Read from
// the TypeScript syntax tree, so comments and strings do not count and type-only imports are fine.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../../..');
const SRC = join(ROOT, 'src');
const DRIVERS = join(SRC, 'drivers');

/** The client libraries, and the drivers' own modules that hold or re-export their clients. */
function isClientModule(specifier: string): boolean {
  return (
    /^(ioredis|pg|pg-[\w-]+|kafkajs|nats|@nats-io\/[\w-]+)(\/.*)?$/.test(specifier) ||
    /(^|\/)drivers\/[\w-]+\/(client|[\w]+-driver)$/.test(specifier)
  );
}

/** Client classes, however they were reached (`new Redis`, `new pg.Pool`, `new IORedis.Cluster`). */
const CLIENT_CLASSES = new Set(['Redis', 'IORedis', 'Cluster', 'Kafka']);
const PG_CLASSES = new Set(['Pool', 'Client']);

/** Where `source` reaches a client library's values: `file:line: what`. */
function clientConstructions(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const report = (node: ts.Node, what: string): void => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    found.push(`${fileName}:${line + 1}: ${what}`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const from = node.moduleSpecifier.text;
      const clause = node.importClause;
      const valueBindings =
        !clause ||
        (!clause.isTypeOnly &&
          (clause.name !== undefined ||
            (clause.namedBindings !== undefined &&
              (ts.isNamespaceImport(clause.namedBindings) ||
                clause.namedBindings.elements.some((e) => !e.isTypeOnly)))));
      if (isClientModule(from) && valueBindings) report(node, `imports values from ${from}`);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const from = node.moduleSpecifier.text;
      const values =
        !node.isTypeOnly &&
        (!node.exportClause ||
          !ts.isNamedExports(node.exportClause) ||
          node.exportClause.elements.some((e) => !e.isTypeOnly));
      if (isClientModule(from) && values) report(node, `re-exports values from ${from}`);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression) &&
      isClientModule(node.moduleReference.expression.text)
    ) {
      report(node, `imports ${node.moduleReference.expression.text}`);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      const loads =
        callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
      if (loads && isClientModule(node.arguments[0].text)) report(node, `loads ${node.arguments[0].text}`);
    } else if (ts.isNewExpression(node)) {
      const target = node.expression;
      if (ts.isIdentifier(target) && CLIENT_CLASSES.has(target.text)) report(node, `new ${target.text}`);
      if (ts.isPropertyAccessExpression(target)) {
        const name = target.name.text;
        const owner = target.expression.getText(file);
        if (CLIENT_CLASSES.has(name) || (owner === 'pg' && PG_CLASSES.has(name))) report(node, `new ${owner}.${name}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === DRIVERS ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('one way in to a backend', () => {
  it('the scan finds every way of reaching a client library, and lets type-only imports be', () => {
    const bad = [
      "import Redis from 'ioredis';",
      "import { Pool } from 'pg';",
      "import * as pg from 'pg';",
      "import { Kafka, type Producer } from 'kafkajs';",
      "import { connect } from '@nats-io/transport-node';",
      "import { connect } from '../drivers/nats/client';",
      "import { RedisDriver } from '../drivers/redis/redis-driver';",
      "export { Kafka } from 'kafkajs';",
      "import pg = require('pg');",
      "const { Kafka } = require('kafkajs');",
      "const pg = await import('pg');",
      'const r = new Redis(url);',
      'const c = new Cluster(nodes);',
      'const p = new pg.Pool({});',
      'const k = new Kafka({ brokers });',
    ];
    for (const line of bad) assert.equal(clientConstructions('bad.ts', line).length, 1, line);
    const fine = [
      "import type { Pool } from 'pg';",
      "import { type Producer, type Admin } from 'kafkajs';",
      "export type { NatsConnection } from '../drivers/nats/client';",
      "import { natsDriver } from '../drivers/nats';",
      "import { topicName } from '../drivers/kafka/names';",
      "// new Redis(url) in a comment, require('pg') in a comment",
      'const text = "new Kafka({})";',
      'const client = new Client({ connection });',
    ];
    for (const line of fine) assert.deepEqual(clientConstructions('fine.ts', line), [], line);
  });

  it('no file under src/ outside src/drivers constructs or loads a client of ioredis, pg, kafkajs or NATS', () => {
    const files = sourceFiles(SRC);
    assert.ok(files.length > 50, `found the sources (${files.length} files under ${SRC})`);
    const found = files.flatMap((path) => clientConstructions(relative(ROOT, path), readFileSync(path, 'utf8')));
    assert.deepEqual(
      found,
      [],
      `open backends through BackendPool (src/runtime/backend-pool.ts):\n${found.join('\n')}`,
    );
  });
});
