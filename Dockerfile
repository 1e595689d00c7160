# The Prism worker image: `docker build -t prism-worker .`, then run it with the worker's YAML
# config mounted at /etc/prism/config.yaml (docs/deploy.md). Three stages:
#   build                    npm ci, tsc and the prebuilt workflow bundle (npm run build)
#   production-dependencies  production dependencies plus every built-in driver's client library,
#                            pruned of other platforms' binaries, types, sources and maps
#   runtime                  node, the dependencies, dist/src and the bundle; non-root, no shell needed
# Base images are build arguments. The defaults are public; scripts/image builds this file on base
# images it makes locally (a Debian minbase for build, a distroless-style one for runtime).
# The runtime base must put `node` on PATH (distroless: /nodejs/bin, node images: /usr/local/bin).
ARG BUILD_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bin-exec-bit.ts scripts/bundle-workflows.ts scripts/production-dependencies.ts ./scripts/
RUN npm run build && find dist/src -type f \( -name '*.d.ts' -o -name '*.map' \) -delete

FROM ${BUILD_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /src/dist/scripts/production-dependencies.js /tmp/image/
COPY deploy/image/prune-node-modules.sh /tmp/image/
RUN node /tmp/image/production-dependencies.js package.json package-lock.json \
  && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
  && sh /tmp/image/prune-node-modules.sh node_modules

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin \
    PRISM_CONFIG=/etc/prism/config.yaml
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/dist/workflow-bundle.js ./dist/
COPY --from=build /src/dist/src ./dist/src
# Files stay root-owned and read-only to the worker; 65532 is distroless's "nonroot".
USER 65532:65532
# /health, /ready and /metrics (worker.http_port; set worker.http_host: 0.0.0.0 in the config).
EXPOSE 9464
ENTRYPOINT ["node", "/app/dist/src/worker.js"]
