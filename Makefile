# The two commands a newcomer needs are `make up` and `make test`; the rest are for development.
SWIFT ?= swift
SWIFTFLAGS ?= -Xswiftc -warnings-as-errors

.PHONY: deps build up test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFTFLAGS)

# Starts a scheduler, two executors (and the gateway once it lands) with demo jobs on ./.baton/baton.sqlite.
# A debug build, so the first start is quick; benchmarks use the release build.
up: deps
	$(SWIFT) build --product baton
	.build/debug/baton up --demo

# Unit tests run in parallel; the multi-process integration suites run one at a time afterwards,
# so their timing-sensitive checks (failover, claim expiry) do not compete for two cores.
test: deps
	$(SWIFT) build --build-tests $(SWIFTFLAGS)
	$(SWIFT) test --skip-build --skip IntegrationTests
	$(SWIFT) test --skip-build --filter IntegrationTests --no-parallel

# Every benchmark of CONTRACT §10 on a release build (about 6 minutes; `scale` alone waits for 2 minute
# boundaries). BENCHFLAGS=--json adds one JSON object per benchmark; Docs/Benchmarks.md records the results.
BENCHFLAGS ?=
bench: deps
	@WITH_BENCH=1 scripts/install-deps.sh
	$(SWIFT) build -c release --product baton
	.build/release/baton bench cron $(BENCHFLAGS)
	.build/release/baton bench throughput $(BENCHFLAGS)
	.build/release/baton bench latency $(BENCHFLAGS)
	.build/release/baton bench gateway $(BENCHFLAGS)
	.build/release/baton bench scale $(BENCHFLAGS)
	.build/release/baton bench failover $(BENCHFLAGS)

clean:
	rm -rf .build
