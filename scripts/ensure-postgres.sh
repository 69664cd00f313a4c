#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, user postgres) for the test suite.
pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if pg_ready; then exit 0; fi
if ! ls /etc/postgresql >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "Installing PostgreSQL..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  ver=$(ls /etc/postgresql | head -n1)
  conf="/etc/postgresql/$ver/main/pg_hba.conf"
  sed -i -E 's/^(local|host)(\s+all\s+all\s+.*)(peer|scram-sha-256|md5)$/\1\2trust/' "$conf"
  sed -i -E 's/^(local\s+all\s+postgres\s+)peer$/\1trust/' "$conf"
fi
ver=$(ls /etc/postgresql | head -n1)
echo "Starting PostgreSQL $ver..." >&2
pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || pg_ctlcluster "$ver" main start >&2 || true
for _ in $(seq 1 30); do pg_ready && exit 0; sleep 1; done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
