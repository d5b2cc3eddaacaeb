#!/usr/bin/env bash
# Installs the system packages the test-suite can use, where that is possible
# (root with apt-get). Never fails the build: tests needing a missing package skip
# with a message naming it.
#
# WordNet 3.0 (for nltk METEOR) and Chromium (browser tests).
# WordNet 3.0 (for nltk METEOR): Debian `wordnet-base` (the dict files under
# /usr/share/wordnet) + `wordnet-sense-index` (index.sense). eval_harness/metrics/wordnet.py
# copies them into a private nltk_data folder at first use.
set -u

WORDNET_DIR=/usr/share/wordnet
WORDNET_FILES=(data.noun index.noun index.sense)

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root with apt-get; tests needing system packages will skip"
  exit 0
fi

wordnet_present() {
  local f
  for f in "${WORDNET_FILES[@]}"; do
    [ -s "$WORDNET_DIR/$f" ] || return 1
  done
  return 0
}

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-qq -o DPkg::Lock::Timeout=120)  # wait for a concurrent apt instead of failing
UPDATED=0

apt_install() {  # apt_install PACKAGE...: update the lists once, then install
  if [ "$UPDATED" = 0 ]; then
    # A fresh container has empty package lists. A failed update (no network) is
    # reported, and the install is still tried from whatever lists exist.
    apt-get "${APT_OPTS[@]}" update >/dev/null 2>&1 \
      || echo "system-deps: apt-get update failed; trying with the current lists"
    UPDATED=1
  fi
  apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "$@" >/dev/null 2>&1
}

if wordnet_present; then
  echo "system-deps: WordNet already present in $WORDNET_DIR"
else
  echo "system-deps: installing wordnet-base wordnet-sense-index (apt-get)"
  if apt_install wordnet-base wordnet-sense-index && wordnet_present; then
    echo "system-deps: installed WordNet 3.0 into $WORDNET_DIR"
  else
    echo "system-deps: could not install wordnet-base/wordnet-sense-index; METEOR tests will skip"
  fi
fi

# Chromium for the browser tests (Playwright drives it; `playwright install` cannot
# download browsers here).
if [ -x /usr/bin/chromium ]; then
  echo "system-deps: Chromium already present (/usr/bin/chromium)"
elif apt_install chromium && [ -x /usr/bin/chromium ]; then
  echo "system-deps: installed Chromium"
else
  echo "system-deps: could not install chromium; browser tests will skip (or fail where required)"
fi
exit 0
