#!/usr/bin/env bash
# Sets up tcpcheck in ./.venv and optionally runs a job.  Idempotent: a second run only
# checks that everything is still in place.
#
#   bash setup.sh          set up only
#   bash setup.sh main     set up, then run the main job (tcpcheck check on the bundled spec)
#   bash setup.sh test     set up, then run the whole test suite
#
# Needs Python >= 3.11 with pip.  As root it installs missing Debian packages (graphviz,
# python3-venv) with apt-get; otherwise it says what to install.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }
apt_updated=0
apt_install() {
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        return 1
    fi
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
        apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. A Python >= 3.11.
PYTHON=""
for candidate in "${PYTHON_FOR_TCPCHECK:-}" python3 python3.13 python3.12 python3.11 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
[ -n "$PYTHON" ] || die "tcpcheck needs Python 3.11 or newer; install it (Debian: apt-get install python3) and run again"

# 2. The virtualenv.
if [ ! -x .venv/bin/python ]; then
    rm -rf .venv
    if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        if apt_install "python${pyver}-venv" || apt_install python3-venv; then
            "$PYTHON" -m venv .venv
        elif "$PYTHON" -m pip install --user --quiet virtualenv >/dev/null 2>&1; then
            "$PYTHON" -m virtualenv --quiet .venv
        else
            die "cannot create a virtualenv: install the venv module (as root: apt-get install python3-venv) and run again"
        fi
    fi
fi

# A C compiler for the search loop (without one, the same search runs in Python).
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    apt_install gcc libc6-dev || say "no C compiler: the search runs in Python (Debian: sudo apt-get install gcc)"
fi

# 3. The package and its Python dependencies, and the compiled search loop (Cython and
#    the C compiler; skipped when none of the files they come from changed).
stamp=".venv/.tcpcheck-installed"
want="$(cat pyproject.toml setup.py checker/product/_search.pyx | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import checker' 2>/dev/null; then
    say "installing tcpcheck and its dependencies into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
    .venv/bin/python -m pip install --quiet -e '.[test]'
    echo "$want" > "$stamp"
    if ! .venv/bin/python -c 'import checker.product._search' 2>/dev/null; then
        say "the compiled search loop did not build (is a C compiler installed? Debian: sudo apt-get install gcc python3-dev): tcpcheck runs the same search in Python, several times slower"
    fi
fi
# Byte-compiled up front: where PYTHONDONTWRITEBYTECODE is set (many CI images) every
# command would otherwise compile the package again, about 45 ms of its start-up.
.venv/bin/python -m compileall -q checker >/dev/null || true

# 4. Graphviz's `dot` (diagrams) and the font the diagrams name (DejaVu Sans: with it
#    the committed diagrams are reproduced byte for byte); the Python package is already
#    in the virtualenv.
if ! command -v dot >/dev/null 2>&1; then
    if ! apt_install graphviz; then
        say "Graphviz is missing: install it to draw diagrams (Debian: sudo apt-get install graphviz)"
    fi
fi
# (grep reads all of fc-list: with -q it would stop early and pipefail see SIGPIPE.)
if command -v fc-list >/dev/null 2>&1 && ! fc-list 2>/dev/null | grep "DejaVu Sans" >/dev/null; then
    if ! apt_install fonts-dejavu-core; then
        say "the DejaVu Sans font is missing: diagrams will be drawn with another font (Debian: sudo apt-get install fonts-dejavu-core)"
    fi
fi

# 5. SPIN and a C compiler, for the cross-check of the explorer against SPIN (the tests
#    that need them are skipped, with the reason, when they are missing).
# tcc compiles SPIN's verifiers in a twentieth of gcc's time (see README, SPIN).
if ! command -v spin >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1 || ! command -v tcc >/dev/null 2>&1; then
    if ! apt_install spin gcc tcc; then
        say "SPIN or a C compiler is missing: the SPIN cross-check will be skipped (Debian: sudo apt-get install spin gcc tcc)"
    fi
fi

# 6. ip, ss, nft and tcpdump, for driving this machine's TCP stack in network namespaces
#    (the conformance tests need root too, and are skipped, with the reason, otherwise).
if ! command -v ip >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1 || ! command -v nft >/dev/null 2>&1 || ! command -v tcpdump >/dev/null 2>&1; then
    if ! apt_install iproute2 nftables tcpdump; then
        say "ip, ss, nft or tcpdump is missing: the conformance tests will be skipped (Debian: sudo apt-get install iproute2 nftables tcpdump)"
    fi
fi

# Storm (stormpy), for the cross-check of the probabilistic reading: a binary wheel that
# not every machine has; without it the Storm tests are skipped, with the reason.
if [ "${1:-}" = test ] && ! .venv/bin/python -c 'import stormpy' 2>/dev/null; then
    say "installing stormpy (Storm) into .venv"
    .venv/bin/python -m pip install --quiet 'stormpy>=1.9' >/dev/null 2>&1 ||
        say "stormpy could not be installed here: the Storm cross-check will be skipped"
fi

# 7. For the tests only: mermaid-cli (pinned in tools/mermaid) and Debian's chromium, to
#    render the Mermaid charts in a headless browser and look at them (the test is skipped,
#    with the reason, without them).
if [ "${1:-}" = test ]; then
    if ! command -v npm >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
        apt_install nodejs npm chromium || say "node, npm or chromium is missing: the Mermaid rendering test will be skipped (Debian: sudo apt-get install nodejs npm chromium)"
    fi
    mmdc_stamp=tools/mermaid/node_modules/.tcpcheck-installed
    mmdc_want="$(cat tools/mermaid/package-lock.json | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
    if command -v npm >/dev/null 2>&1 && { [ ! -f "$mmdc_stamp" ] || [ "$(cat "$mmdc_stamp")" != "$mmdc_want" ]; }; then
        say "installing mermaid-cli into tools/mermaid"
        # The browser is Debian's chromium: puppeteer's own download is not wanted.
        if PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tools/mermaid --no-audit --no-fund --loglevel=error >/dev/null; then
            echo "$mmdc_want" > "$mmdc_stamp"
        else
            say "mermaid-cli did not install: the Mermaid rendering test will be skipped"
        fi
    fi
fi

# 8. The job.
case "${1:-}" in
    "") say "ready: .venv/bin/tcpcheck --help" ;;
    main) shift; exec .venv/bin/tcpcheck check "$@" ;;
    # Everything: the kernel scenarios (they time the kernel's timers, and mostly wait
    # for them: two minutes of the default give-ups) at normal priority, beside the
    # rest on a worker per core (pytest-xdist) niced, so that a woken scenario process
    # preempts it at once; the kernel's report is printed after the rest's.
    test) shift
        kernel_log="$(mktemp)"
        .venv/bin/python -m pytest -q -n 0 -m kernel -p no:cacheprovider "$@" >"$kernel_log" 2>&1 &
        kernel_pid=$!
        trap 'kill "$kernel_pid" 2>/dev/null || true; rm -f "$kernel_log"' EXIT
        status=0
        nice -n 15 .venv/bin/python -m pytest -q -m "not kernel" "$@" || status=$?
        kernel_status=0
        wait "$kernel_pid" || kernel_status=$?
        echo "--- the kernel scenarios (pytest -m kernel -n 0):"
        cat "$kernel_log"
        [ "$status" != 0 ] || status=$kernel_status
        exit "$status" ;;
    *) die "unknown job '$1' (use: main, test, or nothing to only set up)" ;;
esac
