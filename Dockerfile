# syntax=docker/dockerfile:1
# Lethe's image: Node.js 24 on Alpine, production dependencies and dist/ only, non-root.
#   docker build -t lethe:0.1.0 .
# Pin the base by digest in your registry mirror for reproducible builds:
#   ARG NODE_IMAGE=node:24-alpine@sha256:...
ARG NODE_IMAGE=node:24-alpine

# 1. Compile TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The runtime: no npm, no compiler, no sources; dist/ and node_modules/ owned by root and
#    read-only to the process, which runs as an unprivileged user.
FROM ${NODE_IMAGE}
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The store lives on a volume (the chart mounts one at /data); nothing else is written.
RUN mkdir -p /data && chown 65532:65532 /data
VOLUME ["/data"]
USER 65532:65532
EXPOSE 9091
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--persistence.file=/data/lethe.data"]
