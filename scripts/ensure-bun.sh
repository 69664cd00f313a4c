#!/usr/bin/env bash
# Makes `bun` available: installs the pinned version from npm when it is missing (only Node/npm needed).
BUN_VERSION="${BUN_VERSION:-1.4.5}"
if ! command -v bun >/dev/null 2>&1; then
  echo "Installing Bun ${BUN_VERSION} from npm..." >&2
  npm install -g "bun@${BUN_VERSION}" >&2 || { echo "npm install -g bun failed" >&2; exit 1; }
  # npm may skip install scripts; the platform package still ships the binary.
  if ! bun --version >/dev/null 2>&1; then
    npm install -g "bun@${BUN_VERSION}" --allow-scripts=bun >&2 || true
  fi
fi
bun --version >/dev/null 2>&1 || { echo "bun is not runnable after install" >&2; exit 1; }
