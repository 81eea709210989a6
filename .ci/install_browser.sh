#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/test_browser.py) when it is missing. Needs root (CI).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "chromium present: $(chromium --version 2>/dev/null || echo unknown version)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
chromium --version
