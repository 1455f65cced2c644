# kidstream pipeline: one image for every role (api, worker, backup); the compose file picks the role.
# Node 22 LTS (package.json engines) on Debian 12: its ffmpeg (5.1) and postgresql-client (15) are the versions the
# suite is tested with.
FROM node:22-bookworm-slim

# ffmpeg: the transcoder; postgresql-client: pg_dump/pg_restore for ops/backup.ts (major 15 = the postgres service);
# tini: PID 1 that forwards SIGTERM (graceful close) and reaps ffmpeg children.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg postgresql-client tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: tsx is a runtime dependency (the service runs TypeScript directly). --ignore-scripts: ffmpeg-static's
# installer would download a second ffmpeg; the apt one is used (FFMPEG_PATH below).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY . .

# The image's `node` user (uid 1000) owns only the data directory; the code stays read-only for it.
RUN mkdir -p /data && chown node:node /data
USER node
ENV DATA_DIR=/data HOST=0.0.0.0 PORT=8080 FFMPEG_PATH=/usr/bin/ffmpeg FFPROBE_PATH=/usr/bin/ffprobe
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD ["node", "--import", "tsx", "ops/healthcheck.ts", "--role", "api"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "ops/main.ts", "--role", "api"]
