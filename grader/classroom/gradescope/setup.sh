#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# It installs the kit (unzipped in $ROOT/source/kit) into a venv at $ROOT/venv.
#
#   AUTOGRADER_ROOT             where Gradescope's files live [/autograder]
#   MICROGRAD_KIT_TORCH_INDEX   an extra pip index for torch [the PyTorch CPU index]; empty: none
#   MICROGRAD_KIT_SKIP_APT      set to 1 to never call apt-get
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
KIT="$ROOT/source/kit"
VENV="$ROOT/venv"
# PyPI's torch wheel pulls several GB of CUDA libraries; the CPU build is all the grader needs.
TORCH_INDEX="${MICROGRAD_KIT_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"

can_apt() { [ "${MICROGRAD_KIT_SKIP_APT:-}" != 1 ] && command -v apt-get >/dev/null; }
updated=""
apt_install() {
    [ -n "$updated" ] || { apt-get update && updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# A Python 3.11 that can make venvs. The system one comes first: the grader's worker runs as
# user nobody, and a Python under a private prefix (pyenv in /root) has a stdlib nobody can read.
find_python() {
    local candidate
    for candidate in /usr/bin/python3.11 "$(command -v python3.11 || true)"; do
        if [ -x "$candidate" ] && "$candidate" -c 'import ensurepip, venv' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ] && can_apt; then
    # Ubuntu 22.04 has python3.11 in its own archive; 24.04 only through the deadsnakes PPA.
    apt_install python3.11 python3.11-venv || {
        apt_install software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt_install python3.11 python3.11-venv
    }
    PYTHON="$(find_python || true)"
fi
if [ -z "$PYTHON" ]; then
    echo "setup.sh: no Python 3.11 with the venv module: install python3.11 and python3.11-venv" >&2
    exit 1
fi
echo "setup.sh: using $PYTHON ($("$PYTHON" -V))"

# --copies, not symlinks: the grader checks that user nobody can run its interpreter by looking
# at the path it resolves to. A symlink into /usr/bin would pass that check even when $ROOT is
# closed to nobody; a copy is judged where it lies, and the grader then falls back to
# /usr/bin/python3.11 by itself.
rm -rf "$VENV"
"$PYTHON" -m venv --copies "$VENV"
pip_args=(install --no-input -e "$KIT")
if [ -n "$TORCH_INDEX" ]; then
    pip_args+=(--extra-index-url "$TORCH_INDEX")
fi
"$VENV/bin/python" -m pip "${pip_args[@]}"

# bubblewrap sandboxes student code (the grader falls back to ACLs where namespaces are
# forbidden); acl is not needed: the grader writes ACLs itself.
if ! command -v bwrap >/dev/null; then
    if can_apt; then
        apt_install bubblewrap || echo "setup.sh: bubblewrap not installed: ACL sandbox only" >&2
    else
        echo "setup.sh: no bwrap and no apt-get: the grader uses its ACL sandbox" >&2
    fi
fi

# Pictures of failing graphs need graphviz's dot; without it they are written as .dot files.
if ! command -v dot >/dev/null; then
    if can_apt; then
        apt_install graphviz || echo "setup.sh: graphviz not installed: pictures stay .dot files" >&2
    else
        echo "setup.sh: no dot and no apt-get: pictures stay .dot files" >&2
    fi
fi

"$VENV/bin/grade" list
echo "setup.sh: done"
