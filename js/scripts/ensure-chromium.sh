#!/bin/sh
# Make sure Debian's headless Chromium and its WebDriver are installed, for the
# browser test (tests/browser.test.mjs).
#
# - Already installed (or $CHROMIUM_BIN / $CHROMEDRIVER_BIN point at them): nothing to do.
# - Missing and we are root with apt-get: install the Debian packages
#   `chromium` and `chromium-driver` (no recommends).
# - Otherwise: print why and exit 0; the browser test then skips itself with
#   the same message.
#
# Exit status: 0 in every case above; non-zero only when apt-get itself fails.
set -eu

chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"
driver="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"

if [ -x "$chromium" ] && [ -x "$driver" ]; then
  echo "ensure-chromium: found $chromium and $driver"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: $chromium or $driver is missing and we are not root:" \
       "install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)" \
       "or set CHROMIUM_BIN/CHROMEDRIVER_BIN; the browser test will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $chromium or $driver is missing and there is no apt-get;" \
       "set CHROMIUM_BIN/CHROMEDRIVER_BIN; the browser test will be skipped"
  exit 0
fi

echo "ensure-chromium: installing Debian packages chromium and chromium-driver (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# A stale package list gives 404s for superseded security updates: refresh it once.
apt-get install -y --no-install-recommends chromium chromium-driver \
  || { apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver; }
echo "ensure-chromium: installed $("$chromium" --version 2>/dev/null || echo chromium)"
