#!/usr/bin/env bash
# Installs the system packages the pipeline uses and starts PostgreSQL and Redis locally when none is reachable.
#   bash ops/setup.sh              # for running the service
#   bash ops/setup.sh --for-tests  # also Chromium (browser tests) and a test database
# Node.js: the npm dependencies are installed with Node >= 22 (ops/node-lts.sh fetches it when the system's is older);
# a shell that runs the service or the tests afterwards sources ops/node-lts.sh too (.ci/run does).
# Needs root (or sudo) for apt-get on a fresh Debian/Ubuntu machine; every step is skipped when already done.
set -euo pipefail
FOR_TESTS=0
[ "${1:-}" = "--for-tests" ] && FOR_TESTS=1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
PG_HOST=127.0.0.1
PG_PORT=5432

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v clamd >/dev/null || need+=(clamav-daemon clamav)
command -v sigtool >/dev/null || need+=(clamav)
command -v perl >/dev/null || need+=(perl)
# Any node and npm will do here: ops/node-lts.sh uses npm to fetch Node 22 when this one is older.
command -v npm >/dev/null || need+=(nodejs npm)
# setpriv --pdeathsig: ffmpeg dies with its worker instead of running on as an orphan (transcoder/death-signal.ts).
command -v setpriv >/dev/null || need+=(util-linux)
command -v redis-server >/dev/null || need+=(redis-server)
command -v psql >/dev/null || need+=(postgresql postgresql-client)
# Backups (ops/backup.ts): pg_dump/pg_restore must be ≥ the server's major version (Debian 12: both 15).
{ command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; } || need+=(postgresql-client)
[ -d /usr/lib/postgresql ] || need+=(postgresql)
if [ "$FOR_TESTS" = 1 ]; then
  command -v chromium >/dev/null || need+=(chromium)
  # The metadata-strip tests write and read tags with exiftool (ingest/test/exiftool.ts).
  command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
  command -v pgrep >/dev/null || need+=(procps)  # the worker-crash tests look for ffmpeg processes
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Redis: start a local instance when nothing answers on 6379. Queued jobs must survive a restart: append-only file,
# fsynced every second (a crash loses at most the last second; the reconciler re-queues from PostgreSQL whatever is
# lost), and never evict a key under memory pressure (an evicted job is a video nobody transcodes).
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "setup: starting redis-server"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
    --dir /var/lib/redis --logfile /var/log/redis/pipeline.log
fi

# PostgreSQL: start the packaged cluster when nothing answers on 5432; trust local TCP for the test database.
if ! (exec 3<>/dev/tcp/$PG_HOST/$PG_PORT) 2>/dev/null; then
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$ver" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    $SUDO pg_createcluster "$ver" main >/dev/null
  fi
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if [ "$FOR_TESTS" = 1 ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    # Tests only: the suite connects as postgres over loopback without a password.
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  echo "setup: starting postgresql $ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/$PG_HOST/$PG_PORT) 2>/dev/null && break; sleep 1; done
fi
if [ "$FOR_TESTS" = 1 ]; then
  psql "postgres://postgres@$PG_HOST:$PG_PORT/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
    || psql "postgres://postgres@$PG_HOST:$PG_PORT/postgres" -c "CREATE DATABASE test" >/dev/null
fi
# ClamAV for the worker's scan step (service mode; the test suite starts its own clamd with a test signature database).
# Uploads reach clamd through INSTREAM: the stream and file limits must cover MAX_UPLOAD_BYTES, otherwise clamd refuses
# the stream (StreamMaxLength, 25 MB default) or skips the rest of a big file unscanned (MaxFileSize/MaxScanSize).
if [ "$FOR_TESTS" = 0 ] && [ ! -S /run/clamav/clamd.ctl ]; then
  conf=/etc/clamav/clamd.conf
  if [ -f "$conf" ]; then
    for kv in "StreamMaxLength 600M" "MaxFileSize 600M" "MaxScanSize 600M"; do
      key=${kv%% *}
      if grep -q "^$key " "$conf"; then $SUDO sed -i "s/^$key .*/$kv/" "$conf"; else echo "$kv" | $SUDO tee -a "$conf" >/dev/null; fi
    done
  fi
  ls /var/lib/clamav/*.c[vl]d >/dev/null 2>&1 || $SUDO freshclam --quiet \
    || echo "setup: WARNING freshclam failed; clamd needs a signature database in /var/lib/clamav"
  $SUDO mkdir -p /run/clamav && { $SUDO chown clamav:clamav /run/clamav 2>/dev/null || true; }
  $SUDO clamd || echo "setup: WARNING clamd did not start; uploads wait (retrying) in the scan stage until it does"
fi
# Node dependencies, exactly as package-lock.json pins them, installed on the Node that will run them (install scripts
# and engine checks see Node 22). No fallback to `npm install`: it would quietly resolve another tree than the one
# committed; a lock file npm ci refuses is a bug to fix in the lock file.
source "$(dirname "$0")/node-lts.sh"
if [ "${SKIP_NPM:-0}" != 1 ]; then
  npm ci --no-audit --no-fund
fi
echo "setup: node $(node --version), ffmpeg $(ffmpeg -version | head -n1 | cut -d' ' -f3), redis and postgres reachable"
