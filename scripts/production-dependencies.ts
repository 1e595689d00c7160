// Image build step (Dockerfile): the drivers' client libraries (ioredis, pg, kafkajs, @nats-io/*)
// are optional peer dependencies of the package, so `npm install --omit=dev` would leave them
// out. The image ships every built-in driver: this rewrites package.json so each peer is a
// dependency pinned to the version package-lock.json already resolved, and npm then installs
// exactly the locked tree. Usage: node production-dependencies.js package.json package-lock.json
import { readFileSync, writeFileSync } from 'node:fs';

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
}
interface PackageLock {
  packages?: Record<string, { version?: string }>;
}

const [pkgFile = 'package.json', lockFile = 'package-lock.json'] = process.argv.slice(2);
const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as PackageLock;

for (const name of Object.keys(pkg.peerDependencies ?? {})) {
  const locked = lock.packages?.[`node_modules/${name}`]?.version;
  if (!locked) throw new Error(`${lockFile}: no locked version of the peer dependency ${name}`);
  pkg.dependencies = { ...pkg.dependencies, [name]: locked };
  // A name still under devDependencies keeps its dev flag, and --omit=dev would drop it.
  if (pkg.devDependencies) delete pkg.devDependencies[name];
}
delete pkg.peerDependencies;
delete pkg.peerDependenciesMeta;
writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
