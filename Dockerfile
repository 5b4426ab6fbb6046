# syntax=docker/dockerfile:1
# Lethe's image: compiled with the official Node.js 24 image, run on Debian slim with only the
# node binary, the production dependencies and dist/, as an unprivileged user (README "Image").
#   docker build -t lethe:0.1.0 .        (or: podman build, buildah build, make image)
# Both bases are pinned by digest (multi-platform index digests, from the Docker Official Images'
# published list of 2026-08-27); move them forward together, the node image's base is the Debian one.
ARG NODE_IMAGE=docker.io/library/node:24-trixie-slim@sha256:50c3b2f6988dfc307b86e5301d69611af31f4789bdf232863b07d3b02fe55ae0
ARG RUNTIME_IMAGE=docker.io/library/debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132

# 1. Compile TypeScript and bundle dist/main.js (tools/bundle.mjs) with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY tools/bundle.mjs ./tools/
COPY src ./src
RUN npm run build

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The account the process runs as (uid and gid 65532, the chart's runAsUser), added to the
#    runtime base's account files, and the store's directory owned by it.
FROM ${RUNTIME_IMAGE} AS account
RUN groupadd -K GID_MAX=65535 --gid 65532 lethe \
 && useradd -K UID_MAX=65535 --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lethe \
 && mkdir /data

# 4. The runtime: Debian slim and the node binary of the build stages (no npm, corepack or yarn,
#    no compiler, no sources, and no RUN step). dist/ and node_modules/ belong to root and are
#    read-only to the process, which runs as 65532.
FROM ${RUNTIME_IMAGE}
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
COPY --from=account /etc/passwd /etc/group /etc/
# The store lives on a volume (the chart mounts one at /data); nothing else is written.
COPY --from=account --chown=65532:65532 /data /data
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
VOLUME ["/data"]
USER 65532:65532
EXPOSE 9091
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--persistence.file=/data/lethe.data"]
