# syntax=docker/dockerfile:1
# Build: compile the gateway into one executable.
FROM oven/bun:1.4.5-debian AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build

# Run: the binary alone on a small glibc base, as a non-root user, data in /data.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home gateway
COPY --from=build /src/dist/gateway /usr/local/bin/gateway
USER gateway
WORKDIR /data
VOLUME ["/data"]
ENV OTARI_HOST=0.0.0.0 \
    OTARI_PORT=8000 \
    OTARI_DATABASE_URL=sqlite:////data/otari-gateway.db
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/health || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["gateway"]
CMD ["serve"]
