# bpfkit — see README.md. `make test` and `make bench` need root.
CARGO ?= cargo

.PHONY: all build release install uninstall deb test unit lint bench vmtest vmtest-ci docs \
	deps-build deps-test deps-bench deps-static tracefs clean

# `make && sudo make install`, like bpftool: `make` builds what `make install`
# installs (release binaries, man pages, completions); `make install` runs
# cargo only if a source changed since.
all: release

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

# The integration tests on Debian's 5.10, 6.1 and 6.12 kernels under qemu
# (and the host), with a tool x kernel x mode table at the end. Installs what
# it needs. vmtest-ci (CI): the guests only, only the kernel tests
# (scripts/vmtest-ci.list), each once.
vmtest: deps-test tracefs
	scripts/vmtest.sh

vmtest-ci: deps-test tracefs
	VMTEST_HOST=0 VMTEST_SUBSET=ci scripts/vmtest.sh

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

# ---- Packaging (README "Packaging") -----------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
# Prepended to every installed name: binaries, man pages, completions.
APP_PREFIX ?=
DESTDIR ?=
INSTALL ?= install
# STATIC=1: the `static` feature (libbpf, libelf, zlib, zstd linked in) and
# glibc's crt-static: binaries with no dynamic dependencies at all.
STATIC ?=

# Cargo runs libbpf's own Makefile (libbpf-sys' build script). It must not see
# our command-line variables, which reach it through MAKEFLAGS and the
# environment: with DESTDIR it installs libbpf's headers into our DESTDIR.
CARGO_ENV := env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL -u DESTDIR \
	-u PREFIX -u BINDIR -u DATADIR -u MANDIR -u INSTALL -u APP_PREFIX -u STATIC

TOOLS := $(sort $(basename $(notdir $(wildcard src/bin/*.rs))))
# The shell name a tool installs as: APP_PREFIX + tool, except for names that
# are bpfkit's own (bpfkit-exporter), which never clash with libbpf-tools.
installed_name = $$(case $(1) in bpfkit-*) echo $(1);; *) echo $(APP_PREFIX)$(1);; esac)
SOURCES := Cargo.toml Cargo.lock build.rs $(shell find src vmlinux -type f)
ifeq ($(STATIC),1)
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
RELEASE_DIR := target/$(HOST)/release
RELEASE_FLAGS := --features static --target $(HOST)
# rustc looks for static libraries only in -L directories: libbpf-sys adds
# LIBBPF_SYS_LIBRARY_PATH (where libelf.a and libz.a are).
RELEASE_ENV := RUSTFLAGS="$(RUSTFLAGS) -C target-feature=+crt-static" \
	LIBBPF_SYS_LIBRARY_PATH="$$(pkg-config --variable=libdir libelf)"
RELEASE_DEPS := deps-static
else
RELEASE_DIR := target/release
RELEASE_FLAGS :=
RELEASE_ENV :=
RELEASE_DEPS := deps-build
endif
BINS_STAMP := $(RELEASE_DIR)/.bpfkit-bins
GEN_DIR := target/gen/prefix-$(APP_PREFIX)
GEN_STAMP := $(GEN_DIR).stamp

release: $(BINS_STAMP) $(GEN_STAMP)

# The stamps take the time the build started: a source edited during the
# build is newer, and the next make builds again.
$(BINS_STAMP): $(SOURCES)
	@$(MAKE) --no-print-directory $(RELEASE_DEPS)
	@mkdir -p $(@D) && touch $@.new
	$(CARGO_ENV) $(RELEASE_ENV) $(CARGO) build --release --locked --bins $(RELEASE_FLAGS)
	@mv $@.new $@

# Man pages and completions come from the clap definitions (src/args/) through
# examples/gen_manpages.rs, built for this machine: the tools are never run.
# Their OUTPUT, DIFFERENCES and SEE ALSO sections come from docs/<tool>.md.
$(GEN_STAMP): $(SOURCES) examples/gen_manpages.rs $(wildcard docs/*.md)
	@$(MAKE) --no-print-directory deps-build
	@mkdir -p $(@D) && touch $@.new
	$(CARGO_ENV) $(CARGO) run --release --locked --example gen_manpages -- $(GEN_DIR) $(APP_PREFIX)
	@mv $@.new $@

install: release
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	for t in $(TOOLS); do \
		n=$(call installed_name,$$t); \
		$(INSTALL) -m 755 $(RELEASE_DIR)/$$t $(DESTDIR)$(BINDIR)/$$n && \
		$(INSTALL) -m 644 $(GEN_DIR)/man8/$$n.8 $(DESTDIR)$(MANDIR)/man8/$$n.8 && \
		$(INSTALL) -m 644 $(GEN_DIR)/bash/$$n $(DESTDIR)$(BASHCOMPDIR)/$$n && \
		$(INSTALL) -m 644 $(GEN_DIR)/zsh/_$$n $(DESTDIR)$(ZSHCOMPDIR)/_$$n && \
		$(INSTALL) -m 644 $(GEN_DIR)/fish/$$n.fish $(DESTDIR)$(FISHCOMPDIR)/$$n.fish || exit 1; \
	done
	for a in $(FS_ALIASES); do \
		ln -sf $(call installed_name,$${a#*:}) $(DESTDIR)$(BINDIR)/$(call installed_name,$${a%%:*}) || exit 1; \
	done

# libbpf-tools' per-file-system names: symlinks that pick `-t` from the name
# they run as (ALIAS:TOOL).
FS_ALIASES := $(foreach f,btrfs ext4 nfs xfs f2fs,$(f)slower:fsslower $(f)dist:fsdist)

# Removes exactly what `make install` (same variables) installed.
uninstall:
	for a in $(FS_ALIASES); do \
		rm -f $(DESTDIR)$(BINDIR)/$(call installed_name,$${a%%:*}); \
	done
	for t in $(TOOLS); do \
		n=$(call installed_name,$$t); \
		rm -f $(DESTDIR)$(BINDIR)/$$n $(DESTDIR)$(MANDIR)/man8/$$n.8 \
			$(DESTDIR)$(BASHCOMPDIR)/$$n $(DESTDIR)$(ZSHCOMPDIR)/_$$n \
			$(DESTDIR)$(FISHCOMPDIR)/$$n.fish; \
	done

# A Debian package in target/debian/. Names get DEB_APP_PREFIX (bpfkit-) so
# the package installs beside Debian's libbpf-tools (/usr/sbin/opensnoop...).
DEB_APP_PREFIX ?= bpfkit-
deb:
	@$(MAKE) --no-print-directory release APP_PREFIX=$(DEB_APP_PREFIX) STATIC=$(STATIC)
	scripts/mkdeb.sh "$(DEB_APP_PREFIX)" "$(STATIC)"

deps-static:
	@scripts/deps.sh static
