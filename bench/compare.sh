#!/usr/bin/env bash
# SmolLab vs PyTorch side by side (issue 8): makes sure Debian's python3-torch is installed (a
# benchmark-only dependency, never needed by tests or users), then runs bench/compare.mjs, which
# writes bench/results/train-vs-torch.md and .jsonl. Options are compare.mjs's (--help lists them).
# Usage: bench/compare.sh [--quick] [--threads 1,2] [--configs r2m,r7m] ...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
py=/usr/bin/python3   # Debian's python (python3-torch lives there), not a pyenv one on PATH
for a in "$@"; do [ "$a" = --help ] || [ "$a" = -h ] && exec node "$here/compare.mjs" --help; done
if [ ! -f "$root/dist/src/cli/main.js" ]; then
  echo "compare.sh: error: dist/ is missing: run \`npm run build\` (npx tsc -p .) first" >&2
  exit 2
fi
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "compare.sh: error: PyTorch is missing for $py: run \`sudo apt-get install -y python3-torch\`" >&2
    exit 2
  fi
  echo "compare.sh: installing Debian's python3-torch (benchmark only)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch) >/dev/null
  "$py" -c "import torch" || { echo "compare.sh: error: python3-torch installed but \`$py -c 'import torch'\` fails" >&2; exit 2; }
fi
cd "$root"
SMOL_COMPARE_SH=1 exec node "$here/compare.mjs" "$@"   # compare.mjs defaults to --python /usr/bin/python3
