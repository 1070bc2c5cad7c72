#!/usr/bin/env bash
# Regenerate every report that needs no GPU, from reports/manifest.json (see reports/README.md).
#   scripts/reports.sh                 regenerate all CPU-only reports in place (build/tools/nqkv/nqkv)
#   scripts/reports.sh --check         regenerate into a scratch folder and compare with the committed files
#   scripts/reports.sh nqkv-claims     only the named entries (ids as in the manifest)
#   NQKV=path/to/nqkv scripts/reports.sh ...   another build
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/reports.py --nqkv "${NQKV:-build/tools/nqkv/nqkv}" "$@"
