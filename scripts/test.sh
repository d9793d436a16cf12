#!/usr/bin/env bash
# scripts/test.sh is the whole test suite, the one CI runs:
#   formatting, vet, staticcheck, the race-detector run of every module,
#   the allocation tests (which skip themselves under -race), the psdebug
#   build (poisoned slabs; the root module and bench), and every fuzz
#   target for a few seconds.
#
#   ./scripts/test.sh                 # everything
#   FUZZTIME=30s ./scripts/test.sh    # longer fuzz smoke
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
FUZZTIME=${FUZZTIME:-3s}
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

modules=(.)
[ -f bench/go.mod ] && modules+=(bench)
[ -f otel/go.mod ] && modules+=(otel)

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt'd:"; echo "$unformatted"; exit 1
fi

for m in "${modules[@]}"; do
  step "go mod tidy -diff ($m)"
  (cd "$m" && go mod tidy -diff)
  step "go vet ($m)"
  (cd "$m" && go vet ./...)
  if [ "$m" = . ]; then # the library builds on every target (bench/ is unix-only: getrusage)
    step "go vet ($m) for windows and darwin"
    GOOS=windows go vet ./...
    GOOS=darwin go vet ./...
  fi
  step "staticcheck ($m)"
  (cd "$m" && go run "$STATICCHECK" ./...)
done

for m in "${modules[@]}"; do
  step "go test -race ($m)"
  (cd "$m" && go test -race -count=1 -timeout 15m ./...)
done

step "go test without -race (allocation tests run here)"
log=$(mktemp)
status=0
for m in "${modules[@]}"; do
  (cd "$m" && go test -count=1 -timeout 10m -v ./...) >>"$log" 2>&1 || status=1
done
grep -E '^(ok|FAIL|---|panic:|\s+--- FAIL)|^\S+_test\.go:[0-9]+:' "$log" | grep -vE '^\s*--- (PASS|SKIP)' || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ]; then
  grep -B2 -A30 -E '^\s*--- FAIL|^panic:' "$log" | head -200 || true
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  exit 1
fi

step "go test -tags psdebug (released slabs are poisoned)"
go test -tags psdebug -count=1 -timeout 10m ./...
if [ -f bench/go.mod ]; then # generated builders' use-after-Finish checks (bench/codec, typedsys/echopb); ~30-70 s
  step "go test -tags psdebug (bench)"
  (cd bench && go test -tags psdebug -count=1 -timeout 10m ./...)
fi

step "fuzz targets, $FUZZTIME each"
./fuzz/run.sh "$FUZZTIME"

echo
echo "all checks passed"
echo "tests: $passed passed, $failed failed, $skipped skipped"
