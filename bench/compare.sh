#!/usr/bin/env bash
# SmolLab vs PyTorch side by side (issues 8, 21). The reference is PyTorch 2.x when `python3` on
# PATH has it (e.g. pyenv + pip install torch); else Debian's python3-torch (1.13) for /usr/bin/python3,
# installed here if missing (a benchmark-only dependency, never needed by tests or users).
# compare.mjs picks between them and says which it used; it writes bench/results/train-vs-torch.md
# and .jsonl. Options are compare.mjs's (--help lists them).
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
if python3 -c "import torch, sys; sys.exit(int(torch.__version__.split('.')[0]) < 2)" >/dev/null 2>&1; then
  :  # PyTorch 2.x on PATH: compare.mjs uses it
elif ! "$py" -c "import torch" >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "compare.sh: error: PyTorch is missing for $py: run \`sudo apt-get install -y python3-torch\`" >&2
    exit 2
  fi
  echo "compare.sh: installing Debian's python3-torch (benchmark only)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch) >/dev/null
  "$py" -c "import torch" || { echo "compare.sh: error: python3-torch installed but \`$py -c 'import torch'\` fails" >&2; exit 2; }
fi
cd "$root"
SMOL_COMPARE_SH=1 exec node "$here/compare.mjs" "$@"   # compare.mjs: python3 with torch 2.x, else /usr/bin/python3
