# Shared by scripts/dev and scripts/test: a virtual environment with the pinned requirements.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
# The project runs on Python 3.11 (its pins are tested there): stop early and say so.
check="$PY"
[ -x .venv/bin/python ] && check=.venv/bin/python
if ! "$check" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  found="$("$check" --version 2>/dev/null || echo "nothing runnable at $check")"
  echo "error: Python 3.11 is required, found: $found." >&2
  echo "       Install Python 3.11 and run again with PYTHON=python3.11 (remove .venv if it was made by another Python)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=".venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing requirements.txt"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
