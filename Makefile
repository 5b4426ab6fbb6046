# Lethe — build, run and test. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
.DEFAULT_GOAL := build

include tools/versions.env

# Tool cache outside the clone, keyed by version, reused across clones and CI runs.
LETHE_CACHE ?= $(HOME)/.cache/lethe
NODE_DIR    := $(LETHE_CACHE)/node/$(NODE_VERSION)
K8S_DIR     := $(LETHE_CACHE)/kubernetes/$(K8S_VERSION)
ETCD_DIR    := $(LETHE_CACHE)/etcd/$(ETCD_VERSION)
PGW_DIR     := $(LETHE_CACHE)/pushgateway/$(PUSHGATEWAY_VERSION)
PROM_DIR    := $(LETHE_CACHE)/prometheus/$(PROMETHEUS_VERSION)
# The Go push client of the integration, end-to-end and fault tests, keyed by its source (client_golang's version is in go.mod).
GO_CLIENT_DIR := $(LETHE_CACHE)/go-push-client/$(shell cat test/clients/go/go.mod test/clients/go/go.sum test/clients/go/main.go | sha256sum | cut -c1-16)
export LETHE_GO_PUSH_CLIENT := $(GO_CLIENT_DIR)/go-push-client

# Use Node.js 24 from the tool cache when the machine's node is older.
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(SYSTEM_NODE_MAJOR) -ge $(NODE_VERSION) 2>/dev/null && echo yes),yes)
NODE_STAMP :=
else
export PATH := $(NODE_DIR)/node_modules/.bin:$(PATH)
NODE_STAMP := $(NODE_DIR)/node_modules/.bin/node
endif

# Control-plane binaries: KUBEBUILDER_ASSETS wins when it holds them.
ifneq ($(and $(KUBEBUILDER_ASSETS),$(wildcard $(KUBEBUILDER_ASSETS)/kube-apiserver)),)
CONTROL_PLANE_BIN := $(KUBEBUILDER_ASSETS)
CONTROL_PLANE_STAMP :=
else
CONTROL_PLANE_BIN := $(K8S_DIR)
CONTROL_PLANE_STAMP := $(K8S_DIR)/kube-apiserver $(ETCD_DIR)/etcd
endif
export LETHE_CONTROL_PLANE_BIN := $(CONTROL_PLANE_BIN)
export LETHE_ETCD_BIN := $(if $(wildcard $(CONTROL_PLANE_BIN)/etcd),$(CONTROL_PLANE_BIN)/etcd,$(ETCD_DIR)/etcd)
export LETHE_PUSHGATEWAY_BIN := $(PGW_DIR)/pushgateway
export LETHE_PROMETHEUS_BIN := $(PROM_DIR)/prometheus

JEST := node --experimental-vm-modules node_modules/jest/bin/jest.js

.PHONY: build run test test-unit test-integration test-e2e test-fault fault-tools lint typecheck deps tools clean browser redis prometheus

# The cache directory gets a package.json of its own first: without one, npm installs into the
# nearest directory above it that has one (a stray ~/package.json, say), and node never lands here.
$(NODE_DIR)/node_modules/.bin/node:
	mkdir -p $(NODE_DIR)
	cd $(NODE_DIR) && printf '{ "private": true }\n' >package.json && npm install --no-audit --no-fund --loglevel=error node@$(NODE_VERSION)
	@test -x $@ || { echo "Node.js $(NODE_VERSION) was not installed at $@" >&2; exit 1; }

node_modules/.stamp: package.json package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: node_modules/.stamp

build: deps
	npm run --silent build

run: build
	node dist/main.js $(ARGS)

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

lint: deps
	npx eslint .
	npx depcruise src --config .dependency-cruiser.cjs

$(K8S_DIR)/kube-apiserver $(ETCD_DIR)/etcd &:
	tools/build-control-plane.sh $(K8S_DIR) $(ETCD_DIR)

$(PGW_DIR)/pushgateway:
	tools/build-pushgateway.sh $(PGW_DIR)

$(LETHE_GO_PUSH_CLIENT):
	tools/build-go-push-client.sh $(GO_CLIENT_DIR)

# Prometheus 3 from its Go module, the Prometheus of the end-to-end tests (cold: 6 minutes or more).
$(PROM_DIR)/prometheus:
	tools/build-prometheus.sh $(PROM_DIR) $(PROMETHEUS_VERSION)

prometheus: $(PROM_DIR)/prometheus

# Debian's Prometheus (2.42: the older Prometheus case), Pushgateway (1.5.1, the second reference),
# Python client (its OpenMetrics parser reads Lethe's output) and bcrypt (hashes for web-config tests).
debian-tools:
	@missing=""; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v prometheus-pushgateway >/dev/null || missing="$$missing prometheus-pushgateway"; \
	/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || missing="$$missing python3-prometheus-client"; \
	/usr/bin/python3 -c 'import bcrypt' 2>/dev/null || missing="$$missing python3-bcrypt"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Debian's Chromium, which the web page's end-to-end tests drive (Playwright's browser download is not used).
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Debian's redis-server, for the Redis store's tests (each test starts its own on a loopback port).
redis:
	@command -v redis-server >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; }

# The fault tier's tools: root (it mounts a tmpfs to fill a real disk) and Debian's fiu-utils
# (libfiu's fiu-run and fiu-ctrl, which fail write, fdatasync and rename in a running Lethe).
fault-tools:
	@test "$$(id -u)" = 0 || { echo "make test-fault: the fault tier needs root (it mounts a tmpfs and fills it); run it as root, as CI does" >&2; exit 1; }
	@command -v fiu-run >/dev/null && command -v fiu-ctrl >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fiu-utils; }

tools: $(CONTROL_PLANE_STAMP) $(PGW_DIR)/pushgateway $(PROM_DIR)/prometheus debian-tools

test: lint typecheck test-unit test-integration test-e2e test-fault

test-unit: deps debian-tools
	$(JEST) --selectProjects unit

test-integration: deps $(CONTROL_PLANE_STAMP) $(LETHE_GO_PUSH_CLIENT)
	$(JEST) --selectProjects integration --runInBand

test-e2e: deps build $(PGW_DIR)/pushgateway $(PROM_DIR)/prometheus $(LETHE_GO_PUSH_CLIENT) debian-tools browser redis
	$(JEST) --selectProjects e2e --runInBand

# Real faults (docs/operations.md, "Failure modes"): a full tmpfs, syscalls failed with libfiu, SIGKILL.
# FAULT_SEED=<n> replays the printed schedule of the syscall rounds; FAULT_ROUNDS sets how many.
test-fault: deps build fault-tools $(LETHE_GO_PUSH_CLIENT)
	$(JEST) --selectProjects fault --runInBand

clean:
	rm -rf dist node_modules/.stamp

# ---- Deployment: Helm chart, plain manifests, demo ----
HELM_DIR := $(LETHE_CACHE)/helm/$(HELM_VERSION)
HELM     := $(HELM_DIR)/helm
export LETHE_HELM_BIN := $(HELM)

.PHONY: helm manifests manifests-check

# helm from its Go module at the version pinned in tools/helm (cold: about 5 minutes).
$(HELM):
	tools/build-helm.sh $(HELM_DIR)

helm: $(HELM)

# Re-render deploy/manifests/ from the chart.
manifests: $(HELM)
	deploy/render-manifests.sh $(HELM) deploy/manifests

# Fails when deploy/manifests/ differs from what the chart renders.
manifests-check: $(HELM)
	deploy/render-manifests.sh --check $(HELM) deploy/manifests

lint: manifests-check
test-integration: $(HELM) $(PROM_DIR)/prometheus debian-tools

.PHONY: demo
# A local control plane, Lethe (built, with the chart's ServiceAccount) and Prometheus, and a
# narrated run of what Lethe keeps and forgets, and why (about 30 seconds once the tools exist).
demo: build $(CONTROL_PLANE_STAMP) $(HELM) $(PROM_DIR)/prometheus debian-tools
	node test/demo/run.ts

.PHONY: fuzz
# Hostile-input properties at full size: FUZZ_RUNS inputs in all (120000 by default), from the
# printed seed FUZZ_SEED; FUZZ_ONLY=<text> runs the properties whose name contains it. The unit
# tier runs the same properties at about 2000 inputs. Prints inputs and time per property.
fuzz: deps
	npx tsc -p test/fuzz/tsconfig.json
	node dist/fuzz/test/fuzz/run.js

.PHONY: bench
# Lethe against the real Pushgateway on loopback: Debian's, and the newest upstream release when
# Go can build it (its columns stay empty otherwise). Prints one table and writes it as JSON
# under bench/results/ (docs/benchmarks.md); under ten minutes once the tools exist.
# ARGS passes options, e.g. ARGS='--quick' or ARGS='--gateways=lethe --phases=scale'; ARGS=--check
# fails the run when a row misses its target (the table's last column).
bench: build
	@command -v prometheus-pushgateway >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus-pushgateway; }
	@command -v curl >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl; }
	@$(MAKE) --no-print-directory $(PGW_DIR)/pushgateway || echo "bench: the upstream Pushgateway $(PUSHGATEWAY_VERSION) could not be built; it is left out" >&2
	npx tsc -p bench/tsconfig.json
	node dist/bench/bench/run.js $(ARGS)

.PHONY: bench-forgetting
# The forgetting rows, Lethe only, on a local control plane: Job deleted → series gone from
# /metrics (p50/p99/max over 120 deletions) and the cost of one lifecycle pass with 10,000 Jobs and
# 10,000 groups (about two minutes). ARGS="--no-cluster-pass" skips the 10,000 Job objects.
bench-forgetting: deps $(CONTROL_PLANE_STAMP)
	node --experimental-transform-types --disable-warning=ExperimentalWarning bench/forgetting-main.ts $(ARGS)

.PHONY: bench-redis
# The Redis store next to the file store: push throughput (each push acknowledged once durable)
# and scrape latency, with Debian's redis-server (append-only, fsync always) on a loopback port.
# ARGS=--check fails the run when a row misses its target.
bench-redis: build redis
	npx tsc -p bench/tsconfig.json
	node dist/bench/bench/redis-rows.js $(ARGS)

# ---- Container image: built with buildah from the Dockerfile, run with podman ----
# The Dockerfile's bases are pinned by digest on Docker Hub. IMAGE_BASES=stand-in (the default)
# builds against stand-ins made here from Debian's packages and the npm registry under the same
# names (tools/image-base; kept in the tool cache by their versions); IMAGE_BASES=official pulls
# the pinned images themselves (what `docker build .` does).
PROJECT_VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
IMAGE        ?= localhost/lethe:$(PROJECT_VERSION)
IMAGE_BASES  ?= stand-in
IMAGE_BASE_KEY := $(IMAGE_DEBIAN_SUITE)-node$(IMAGE_NODE_VERSION)-$(shell cat tools/image-base/* | sha256sum | cut -c1-10)
IMAGE_BASE_DIR := $(LETHE_CACHE)/image-base/$(IMAGE_BASE_KEY)
export LETHE_IMAGE := $(IMAGE)

.PHONY: container-tools image-base image test-image

# Debian's buildah, podman, runc (crun refuses a host whose cgroup v2 hierarchy holds controllers
# beside the v1 ones), skopeo and mmdebstrap.
container-tools:
	@missing=""; \
	for tool in buildah podman runc skopeo mmdebstrap; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# The stand-in bases (cold: about 5 minutes; then seconds to load them from the cache).
image-base: container-tools
	tools/image-base/build.sh $(IMAGE_BASE_DIR)

ifeq ($(IMAGE_BASES),stand-in)
image: image-base
endif
image: container-tools
	tools/build-image.sh $(IMAGE) $(IMAGE_BASES)

# The image run as the Helm chart runs it, against the test control plane (test/image/).
test-image: deps image $(CONTROL_PLANE_STAMP) $(HELM)
	$(JEST) --selectProjects image --runInBand

test: test-image

# ---- A real node: kubelet, kube-proxy and kube-scheduler from the control plane's module,
# Debian's containerd, runc and CNI plugins, Kubernetes' pause image built from its sources ----
KUBE_NODE_BINS := $(K8S_DIR)/kubelet $(K8S_DIR)/kube-proxy $(K8S_DIR)/kube-scheduler
export LETHE_NODE_BIN := $(K8S_DIR)

.PHONY: node-tools test-node

$(KUBE_NODE_BINS) &: $(CONTROL_PLANE_STAMP)
	tools/build-node.sh $(K8S_DIR)

$(K8S_DIR)/pause-image.tar: | container-tools node-tools
	tools/build-pause.sh $@

# Debian's containerd (with runc), CNI plugins, iptables, conntrack, and gcc with a static libc for pause.
node-tools: container-tools
	@missing=""; \
	command -v containerd >/dev/null || missing="$$missing containerd"; \
	test -x /usr/lib/cni/bridge || missing="$$missing containernetworking-plugins"; \
	command -v iptables >/dev/null || missing="$$missing iptables"; \
	command -v conntrack >/dev/null || missing="$$missing conntrack"; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	test -f /usr/include/stdio.h || missing="$$missing libc6-dev"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# The chart installed with helm on one real node beside the test control plane, and a CronJob
# pushing from its pods' IPs through the Service (test/node/; about two minutes once built).
test-node: deps image node-tools $(CONTROL_PLANE_STAMP) $(HELM) $(KUBE_NODE_BINS) $(K8S_DIR)/pause-image.tar
	$(JEST) --selectProjects node --runInBand
