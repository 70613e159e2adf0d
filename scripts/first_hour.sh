#!/usr/bin/env bash
# A newcomer's first hour, replayed (issue 51): every ```bash and ```python block of
# README.md in order, from the repository root, then the misuses a newcomer makes.
# Run it on a fresh clone, after `bash scripts/setup.sh test beam`:
#
#     bash scripts/first_hour.sh            # refuses if the README's outputs are already there
#     bash scripts/first_hour.sh --clean    # removes them first (the list below, nothing else)
#
# It passes when: every block runs; no tracked file changed; every output the blocks
# ask for exists; every misuse exits non-zero with one line on stderr and leaves
# nothing behind. PASS/FAIL per check, a summary at the end, exit 1 if any failed.
#
# Lines that cannot run here are skipped by their text, each printed as "skip: LINE":
# `streamlit run` (long-running: started in the background instead, until
# http://127.0.0.1:8501 answers or 60 s pass, then stopped), `docker run` (no Docker),
# the pytest command (too long for this replay), `scripts/setup.sh` and `pip install`
# (already installed), and the optional Dask cluster block (a whole block).
set -euo pipefail
cd "$(dirname "$0")/.."

py=.venv/bin/python
if [ ! -x "$py" ]; then
  echo "error: no .venv/ here; run bash scripts/setup.sh test beam first" >&2
  exit 1
fi

# Every output the README's blocks ask for (their --out/--output/--tflite/--serving-dir,
# --run-dir, --contact-sheet and the files their Python and shell lines write).
outputs=(
  photo.png colour/photo.png
  colour-options/photo.png colour-options/photo.compare.png
  hints.json colour-hints/photo.png
  cup.png cup-colour.png colour-reference/cup.png
  clips/clip-320x240.mp4 clips/clip-640x480.mp4 film-colour/clip-640x480.mp4
  clips4/clip-320x240.mp4 clips4/clip-320x240-keys/0.png film-colour/keys.mp4
  scans16/camera16.tif colour-archive/scans16/camera16.tif
  request.json served/colour.png
  tflite/colorizer.tflite tflite/colour.png
  scans-bulk/astronaut.png scans-bulk/coffee.png scans-bulk/chelsea.png scans-bulk/rocket.png
  colour-bulk/scans-bulk/astronaut.png colour-bulk/scans-bulk/coffee.png
  colour-bulk/scans-bulk/chelsea.png colour-bulk/scans-bulk/rocket.png
  crops/000.png /tmp/colorkeras-first-run/saved_model/saved_model.pb colour-first-run/photo.png
  /tmp/eval/skimage.json /tmp/eval/skimage.csv /tmp/eval/skimage.jpg
  colour-api/camera.png colour-api/camera-hinted.png
)
# What this replay makes: the outputs' top-level paths and the misuses' scratch.
made=(
  photo.png colour colour-options hints.json colour-hints cup.png cup-colour.png colour-reference
  clips clips4 film-colour scans16
  colour-archive request.json served tf-serving tflite scans-bulk colour-bulk
  crops colour-first-run colour-api /tmp/colorkeras-first-run /tmp/eval
  empty-in misuse-1 misuse-2 misuse-3 misuse-4 misuse-5 /tmp/newcomer-eval /tmp/newcomer-train
)
present=()
for path in "${made[@]}"; do if [ -e "$path" ] || [ -L "$path" ]; then present+=("$path"); fi; done
if [ "${1:-}" = --clean ]; then
  for path in "${present[@]}"; do rm -rf -- "$path"; done
elif [ ${#present[@]} -gt 0 ]; then
  echo "error: outputs of an earlier replay are already there (some in /tmp, outside any clone): ${present[*]}; pass --clean to remove them first" >&2
  exit 1
fi

work=$(mktemp -d /tmp/first-hour.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=()
failed=()
pass() { echo "PASS: $1"; passed+=("$1"); }
fail() { echo "FAIL: $1"; failed+=("$1"); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
banner() { printf '\n========== %s ==========\n' "$1"; }


# === The README's blocks, in order ===

"$py" - README.md "$work/blocks" <<'EOF'
import pathlib, re, sys
text = pathlib.Path(sys.argv[1]).read_text()
out = pathlib.Path(sys.argv[2])
out.mkdir()
for number, block in enumerate(re.finditer(r"^```(bash|python)\n(.*?)^```", text, re.S | re.M), 1):
    line = text.count("\n", 0, block.start()) + 1
    (out / f"{number:02d}-{line:03d}.{block[1]}").write_text(block[2])
EOF

skip_reason() {  # Why a line cannot run here, or status 1.
  case "$1" in
    [[:space:]]*'#'* | '#'*) return 1 ;;
    *"streamlit run"*) echo "long-running; the dashboard is started in the background below" ;;
    *"docker run"*) echo "no Docker here" ;;
    *pytest*) echo "the test suite, too long for this replay" ;;
    *scripts/setup.sh* | *"pip install"* | *"pip uninstall"*) echo "installs; already installed" ;;
    *) return 1 ;;
  esac
}

run_isolated() {  # LIMIT COMMAND...: in a session of its own; what it leaves running is stopped after.
  local limit=$1 pid rc=0
  shift
  setsid timeout --kill-after=10 "$limit" "$@" </dev/null &
  pid=$!
  wait "$pid" || rc=$?
  kill -- "-$pid" 2>/dev/null || true
  return "$rc"
}

dashboard_check() {
  local start pid answered=""
  if curl -sf -o /dev/null http://127.0.0.1:8501; then
    fail "dashboard: something already answers at 127.0.0.1:8501; stop it and run again"
    return
  fi
  start=$(now)
  setsid .venv/bin/streamlit run dashboard/app.py </dev/null >"$work/dashboard.log" 2>&1 &
  pid=$!
  for _ in $(seq 60); do
    if curl -sf -o /dev/null http://127.0.0.1:8501; then answered=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  kill -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -n "$answered" ]; then
    pass "dashboard: http://127.0.0.1:8501 answered after $(since "$start") s"
  else
    fail "dashboard: .venv/bin/streamlit run dashboard/app.py did not answer at http://127.0.0.1:8501 within 60 s"
    tail -n 20 "$work/dashboard.log"
  fi
}

block_limit=${FIRST_HOUR_BLOCK_TIMEOUT:-1800}
for file in "$work"/blocks/*; do
  name=$(basename "$file")
  number=${name%%-*}
  line=${name#*-}
  line=$((10#${line%%.*}))
  kind=${name##*.}
  label="README block $((10#$number)) ($kind, line $line)"
  banner "$label"
  cat "$file"
  echo "----------"
  if [ "$kind" = python ]; then
    start=$(now)
    if run_isolated "$block_limit" "$py" "$file"; then
      pass "$label in $(since "$start") s"
    else
      rc=$?
      fail "$label exited $rc after $(since "$start") s"
      printf '%s\n' "--- the block that failed:" "$(cat "$file")" "---"
    fi
    continue
  fi
  if grep -q -e DaskRunner -e "dask scheduler" "$file"; then
    echo "note: the optional Dask cluster block is skipped as a whole"
    while IFS= read -r text; do echo "skip: $text"; done <"$file"
    continue
  fi
  # Logical lines (a trailing backslash continues one); those that cannot run here go.
  : >"$work/block.sh"
  dashboard=""
  logical=""
  while IFS= read -r text || [ -n "$text" ]; do
    logical+=$text
    if [[ $text == *\\ ]]; then logical+=$'\n'; continue; fi
    if reason=$(skip_reason "$logical"); then
      echo "skip: $logical   ($reason)"
      case "$logical" in *"streamlit run"*) dashboard=1 ;; esac
    else
      printf '%s\n' "$logical" >>"$work/block.sh"
    fi
    logical=""
  done <"$file"
  if grep -q '[^[:space:]]' <(grep -v '^[[:space:]]*#' "$work/block.sh"); then
    start=$(now)
    if run_isolated "$block_limit" bash -e "$work/block.sh"; then
      pass "$label in $(since "$start") s"
    else
      rc=$?
      fail "$label exited $rc after $(since "$start") s"
      printf '%s\n' "--- the block that failed (as run):" "$(cat "$work/block.sh")" "---"
    fi
  fi
  if [ -n "$dashboard" ]; then dashboard_check; fi
done

# === What the blocks leave ===

banner "after the README"
changed=$(git status --porcelain --untracked-files=no)
if [ -z "$changed" ]; then pass "no tracked file changed by the README's blocks"; else
  fail "tracked files changed by the README's blocks:"
  echo "$changed"
fi
missing=()
for path in "${outputs[@]}"; do [ -s "$path" ] || missing+=("$path"); done
if [ ${#missing[@]} -eq 0 ]; then pass "all ${#outputs[@]} outputs the README asks for exist"; else
  fail "outputs the README asks for are missing: ${missing[*]}"
fi

# === The misuses ===

tree() {  # Every path under the root but .git/, .venv/ and caches, sorted.
  find . \( -path ./.git -o -path ./.venv -o -name __pycache__ -o -name .pytest_cache \) -prune -o -print | LC_ALL=C sort
}

misuse() {  # misuse LABEL EXIT LEFT COMMAND...: EXIT "nonzero" or a number; LEFT: a path that must not exist after.
  local label=$1 want=$2 left=$3 start seconds rc=0 lines problems=()
  shift 3
  banner "misuse: $label"
  echo "\$ $*"
  tree >"$work/tree.before"
  start=$(now)
  "$@" >"$work/stdout" 2>"$work/stderr" </dev/null || rc=$?
  seconds=$(since "$start")
  echo "exit $rc after $seconds s; stderr:"
  sed 's/^/  | /' "$work/stderr"
  [ -s "$work/stdout" ] && { echo "stdout:"; sed 's/^/  | /' "$work/stdout"; }
  if [ "$want" = nonzero ]; then
    [ "$rc" -ne 0 ] || problems+=("exit 0, not non-zero")
  else
    [ "$rc" -eq "$want" ] || problems+=("exit $rc, not $want")
  fi
  lines=$(wc -l <"$work/stderr")
  [ "$lines" -eq 1 ] || problems+=("$lines lines on stderr, not 1")
  { [ -e "$left" ] || [ -L "$left" ]; } && problems+=("$left exists")
  tree >"$work/tree.after"
  local new
  new=$(comm -13 "$work/tree.before" "$work/tree.after" | tr '\n' ' ')
  [ -z "$new" ] || problems+=("left behind: $new")
  if [ -n "${MAX_SECONDS:-}" ] && awk -v s="$seconds" -v m="$MAX_SECONDS" 'BEGIN { exit !(s >= m) }'; then
    problems+=("took $seconds s, not under $MAX_SECONDS s")
  fi
  if [ ${#problems[@]} -eq 0 ]; then pass "misuse: $label"; else
    fail "misuse: $label: $(IFS=';'; echo "${problems[*]}")"
  fi
}

MAX_SECONDS=3 misuse "a missing input" nonzero misuse-1 \
  "$py" -m colorkeras.colorize nothing.jpg --out misuse-1
misuse "a run that does not exist" nonzero misuse-2 \
  "$py" -m colorkeras.colorize photo.png --out misuse-2 --model no-such-run
misuse "an unknown flag (--formt)" 2 misuse-3 \
  "$py" -m colorkeras.bulk --input scans-bulk/ --output misuse-3 --formt tiff
mkdir -p empty-in
misuse "an empty input folder" 2 misuse-4 \
  "$py" -m colorkeras.bulk --input empty-in/ --output misuse-4
rmdir empty-in
misuse "a still image as a film" nonzero misuse-5 \
  "$py" -m colorkeras.film photo.png --out misuse-5/x.mp4
mkdir -p misuse-5  # The same where the output's folder exists, as the README's film block makes it.
misuse "a still image as a film, into a folder that exists" nonzero misuse-5/x.mp4 \
  "$py" -m colorkeras.film photo.png --out misuse-5/x.mp4
rm -rf misuse-5
rm -rf /tmp/newcomer-train
misuse "training on a folder that does not exist" nonzero /tmp/newcomer-train \
  "$py" -m colorkeras.train --data no-such-folder --epochs 1 --run-dir /tmp/newcomer-train

banner "misuse: colorize again into colour/"
if [ -f colour/photo.png ]; then
  before=$(sha256sum colour/photo.png)
  rc=0
  echo "\$ $py -m colorkeras.colorize photo.png --out colour/"
  "$py" -m colorkeras.colorize photo.png --out colour/ >"$work/out" 2>&1 </dev/null || rc=$?
  sed 's/^/  | /' "$work/out"
  if [ "$rc" -eq 0 ] && [ "$(sha256sum colour/photo.png)" = "$before" ] && grep -qi skip "$work/out"; then
    pass "the same command again: skipped, exit 0, colour/photo.png unchanged"
  else
    fail "the same command again: exit $rc, should skip with exit 0 and leave colour/photo.png unchanged"
  fi
  rc=0
  echo "\$ $py -m colorkeras.colorize photo.png --out colour/ --saturation 1.7"
  "$py" -m colorkeras.colorize photo.png --out colour/ --saturation 1.7 >"$work/stdout" 2>"$work/stderr" </dev/null || rc=$?
  echo "exit $rc; stderr:"
  sed 's/^/  | /' "$work/stderr"
  lines=$(wc -l <"$work/stderr")
  if [ "$rc" -ne 0 ] && grep -q -- --overwrite "$work/stderr" && [ "$(sha256sum colour/photo.png)" = "$before" ]; then
    pass "other options over an output: refused (exit $rc, names --overwrite, $lines line(s) on stderr), colour/photo.png unchanged"
  else
    fail "other options over an output: exit $rc; should be non-zero, name --overwrite and leave colour/photo.png unchanged"
  fi
else
  fail "colour/photo.png is missing, so the rerun checks cannot run"
fi

banner "misuse: evaluate --limit beside a full report"
rm -rf /tmp/newcomer-eval
rc=0
echo "\$ $py -m colorkeras.evaluate --data skimage --limit 2 --output /tmp/newcomer-eval/x.json"
"$py" -m colorkeras.evaluate --data skimage --limit 2 --output /tmp/newcomer-eval/x.json </dev/null || rc=$?
if [ "$rc" -eq 0 ] && [ -s /tmp/newcomer-eval/x.limit-2.json ] && [ ! -e /tmp/newcomer-eval/x.json ]; then
  pass "evaluate --limit 2 wrote x.limit-2.json, not x.json"
  # A report named for 2 images scores 2 images.
  counts=$("$py" -c 'import json, sys; print(" ".join(sorted({str(row["n"]) for row in json.load(open(sys.argv[1]))["rows"]})))' /tmp/newcomer-eval/x.limit-2.json)
  if [ "$counts" = 2 ]; then pass "x.limit-2.json scores 2 images per row"; else
    fail "x.limit-2.json scores $counts images per row, not 2"
  fi
else
  fail "evaluate --limit 2: exit $rc; in /tmp/newcomer-eval: $(ls /tmp/newcomer-eval 2>&1 | tr '\n' ' ')(want x.limit-2.json and no x.json)"
fi

banner "at the end"
changed=$(git status --porcelain --untracked-files=no)
if [ -z "$changed" ]; then pass "no tracked file changed at the end"; else
  fail "tracked files changed at the end:"
  echo "$changed"
fi

banner "summary"
echo "${#passed[@]} passed, ${#failed[@]} failed"
for item in "${failed[@]}"; do echo "FAIL: $item"; done
[ ${#failed[@]} -eq 0 ]
