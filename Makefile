# The two commands a newcomer needs are `make up` and `make test`; the rest are for development.
SWIFT ?= swift
SWIFTFLAGS ?= -Xswiftc -warnings-as-errors

.PHONY: deps build up test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFTFLAGS)

# Starts Baton with demo jobs; until `baton up` lands it previews a cron schedule.
up: deps
	$(SWIFT) build -c release --product baton
	.build/release/baton cron '30 2 * * *' --tz America/New_York --count 5

test: deps
	$(SWIFT) build --build-tests $(SWIFTFLAGS)
	$(SWIFT) test --skip-build

bench: deps
	$(SWIFT) run -c release baton bench cron

clean:
	rm -rf .build
