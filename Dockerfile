# syntax=docker/dockerfile:1
# Build: compile the gateway into one executable (scripts/build.ts -> dist/gateway; it smoke-tests the binary).
FROM oven/bun:1.4.5-debian AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build

# Run: the binary alone on a small glibc base, as a non-root user, data in /data.
# curl: the HEALTHCHECK. util-linux (prlimit, unshare, setpriv; part of Debian's base) walls in the embedded code
# sandbox's worker processes; where the container forbids a mechanism, the gateway logs it once and goes on.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin gateway \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /src/dist/gateway /usr/local/bin/gateway
# Numeric, so runAsNonRoot policies can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
# SQLite database, its usage journal (beside it) and, on Postgres, ./.gateway/ for the journal: all under /data.
VOLUME ["/data"]
# BUN_CONFIG_MAX_HTTP_REQUESTS: serve's own default, set here so it starts without re-executing itself to set it.
ENV OTARI_HOST=0.0.0.0 \
    OTARI_PORT=8000 \
    OTARI_DATABASE_URL=sqlite:////data/otari-gateway.db \
    BUN_CONFIG_MAX_HTTP_REQUESTS=16384
EXPOSE 8000
# Shell form so a changed OTARI_PORT is followed.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${OTARI_PORT:-8000}/health" || exit 1
# The gateway is PID 1 and handles SIGTERM itself: readiness 503, drain for shutdown_grace_seconds (30), flush,
# exit 0. Give `docker stop` / compose `stop_grace_period` / Kubernetes terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["gateway"]
CMD ["serve"]
