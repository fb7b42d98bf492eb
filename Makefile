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

test: deps
	$(SWIFT) build --build-tests $(SWIFTFLAGS)
	$(SWIFT) test --skip-build

bench: deps
	$(SWIFT) run -c release baton bench cron

clean:
	rm -rf .build
