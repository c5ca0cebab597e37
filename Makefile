# stripe_fdw developer and CI entry points. `make` alone prints the list.
# Works as root (CI) and as a normal user with sudo (SUDO is then `sudo`).

PG_CONFIG   ?= /usr/bin/pg_config
PGRX_VERSION := 0.16.1
DEB_PACKAGES := postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo \
                pkg-config libssl-dev
# pkg-config and libssl-dev: `cargo install cargo-pgrx` builds openssl-sys.

ifeq ($(shell id -u),0)
SUDO :=
PGRX_SUDO :=
else
SUDO := sudo
PGRX_SUDO := --sudo
endif

export PG_CONFIG

.DEFAULT_GOAL := help
# cargo parallelises by itself; the targets must run in order (setup before install-debug before test).
.NOTPARALLEL:
.PHONY: help setup build install install-debug package lint test demo bench bench-peer clean-cluster \
        example example-test example-setup example-browser

help:
	@echo 'stripe_fdw targets:'
	@echo '  make setup            install what is missing: Debian packages, cargo-pgrx $(PGRX_VERSION), cargo pgrx init --pg15'
	@echo '  make build            cargo build --workspace'
	@echo '  make install          install the extension into PostgreSQL 15 (optimized release build)'
	@echo '  make install-debug    install the debug build (what make test and make demo use: quicker to build)'
	@echo '  make package          build the release tarball (target/package/) and test it on a clean PostgreSQL 15'
	@echo '  make lint             cargo fmt --check and cargo clippy -D warnings'
	@echo '  make test             setup + install-debug, unit tests, fake server tests, e2e tests on a throwaway'
	@echo '                        cluster, the package on a clean PostgreSQL 15 copy, the demo'"'"'s output, the'
	@echo '                        example'"'"'s browser scenarios, hosted Supabase without the library (scripts/hosted-test)'
	@echo '  make demo             setup + install-debug, then scripts/demo (set STRIPE_API_KEY to use real Stripe)'
	@echo '  make example          setup + install-debug, then the Next.js pricing page (examples/nextjs-pricing) on the fake'
	@echo '                        Stripe (set STRIPE_API_KEY to use real Stripe); Ctrl-C stops it'
	@echo '  make example-test     setup + install-debug, then the example'"'"'s scenarios in headless Chromium (part of make test)'
	@echo '  make bench            run scripts/bench'
	@echo '  make bench-peer       run scripts/bench-peer: Supabase Wrappers and stripe_fdw side by side (not in make test)'
	@echo '  make clean-cluster    stop and remove clusters left by interrupted make test / demo runs'

setup:
	@set -eu; missing=''; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $$missing; \
	else echo 'setup: Debian packages present'; fi
	@set -eu; \
	if [ "$$(cargo pgrx --version 2>/dev/null)" = 'cargo-pgrx $(PGRX_VERSION)' ]; then \
	  echo 'setup: cargo-pgrx $(PGRX_VERSION) present'; \
	else \
	  echo 'setup: installing cargo-pgrx $(PGRX_VERSION) (takes a few minutes)'; \
	  cargo install cargo-pgrx --version $(PGRX_VERSION) --locked; \
	fi
	@set -eu; cfg="$${PGRX_HOME:-$$HOME/.pgrx}/config.toml"; \
	if grep -qs '^[[:space:]]*pg15[[:space:]]*=' "$$cfg"; then \
	  echo "setup: pgrx pg15 configured in $$cfg"; \
	else \
	  cargo pgrx init --pg15 $(PG_CONFIG); \
	fi

build:
	cargo build --workspace

# The production install: the optimized (release) build.
install:
	cargo pgrx install $(PGRX_SUDO) --release --pg-config $(PG_CONFIG)

# Tests and the demo only need a working build; the debug one builds in a fraction of the time.
install-debug:
	cargo pgrx install $(PGRX_SUDO) --pg-config $(PG_CONFIG)

# A tarball of the release build's files (.so, .control, .sql) with INSTALL and install.sh, then
# the same check make test runs on a debug tarball: installed into a clean copy of PostgreSQL 15,
# create extension, a query against the fake Stripe.
package:
	@set -eu; tarball=$$(scripts/package); scripts/package-check "$$tarball"; \
	echo "package: $$tarball"

# Both checks run even when the first fails; the target fails if either did.
lint:
	@status=0; \
	echo 'cargo fmt --all -- --check'; cargo fmt --all -- --check || status=1; \
	echo 'cargo clippy --workspace --all-targets -- -D warnings'; \
	cargo clippy --workspace --all-targets -- -D warnings || status=1; \
	exit $$status

test: setup example-setup example-browser install-debug
	scripts/run-tests

demo: setup install-debug
	scripts/demo

# The Next.js example needs Node.js >= 18.18 (Next.js 15): Debian 12's nodejs (18.20) and npm are
# installed when there is no node at all; a newer node already installed is used as it is.
example-setup:
	@set -eu; \
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo 'example-setup: installing Debian packages: nodejs npm'; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends nodejs npm; \
	fi; \
	node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 18 || (a === 18 && b < 18)) process.exit(1)' \
	  || { echo "example-setup: node $$(node --version) is older than 18.18 (Next.js 15 needs it)" >&2; exit 1; }; \
	echo "example-setup: node $$(node --version), npm $$(npm --version)"

# The example's browser tests drive Debian's Chromium (never a downloaded browser).
example-browser:
	@set -eu; \
	if dpkg-query -W -f='$${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then \
	  echo 'example-browser: chromium present'; \
	else \
	  echo 'example-browser: installing Debian package: chromium'; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends chromium; \
	fi

example: setup example-setup install-debug
	scripts/example

example-test: setup example-setup example-browser install-debug
	scripts/example-test

bench:
	@if [ -x scripts/bench ]; then \
	  exec scripts/bench; \
	elif [ -e scripts/bench ]; then \
	  exec bash scripts/bench; \
	else \
	  echo 'bench: not written yet (scripts/bench does not exist)' >&2; exit 1; \
	fi

bench-peer:
	scripts/bench-peer

clean-cluster:
	scripts/pg-cluster clean
