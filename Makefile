# bpfkit — see README.md. `make test` and `make bench` need root.
CARGO ?= cargo

.PHONY: all build test unit lint bench vmtest docs deps-build deps-test deps-bench tracefs clean

all: build

build: deps-build
	$(CARGO) build

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

# Tracepoint tools need tracefs; it is not mounted at boot everywhere.
tracefs:
	@mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing

lint: deps-build
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Unit tests only (no root needed).
unit: deps-build
	$(CARGO) test --lib --bins

# Everything: lint, unit tests and the root integration tests on this kernel.
test: deps-test tracefs lint
	$(CARGO) test

# The integration tests on Debian 6.1 and 6.12 kernels under qemu (and the
# host), with a tool x kernel x mode table at the end. Installs what it needs.
vmtest: deps-test tracefs
	scripts/vmtest.sh

# Recapture the example output in docs/*.md from real runs (root; needs the
# test dependencies: curl, java, cc). tests/docs.rs checks the pages.
docs: deps-test tracefs
	$(CARGO) build --bins
	python3 scripts/docs-examples.py

bench: deps-bench tracefs
	$(CARGO) build --release --bins --examples
	python3 bench/bench.py

clean:
	$(CARGO) clean
