# syntax=docker/dockerfile:1
# Build with the official Swift image, run on slim Debian with only the C libraries Baton links.

FROM swift:6.2-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libzmq3-dev libsqlite3-dev libcurl4-openssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product baton --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/baton" /out/baton

FROM debian:bookworm-slim AS run
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libzmq5 libsqlite3-0 libcurl4 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home baton
COPY --from=build /out/baton /usr/local/bin/baton
USER baton
WORKDIR /data
ENV BATON_DB=/data/baton.sqlite \
    BATON_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080 7710
ENTRYPOINT ["baton"]
CMD ["--help"]
