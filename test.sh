#!/usr/bin/env bash
# Runs every test of Pmip6Akka. Installs what the tests need when it is missing (as root, with
# apt-get), builds the solution in Release, runs each test project and ends with the line
# "N passed, N failed" (", N skipped" when any were skipped). Exits non-zero on any failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DEBIAN_FRONTEND=noninteractive

# --- what the tests need ------------------------------------------------------------------------
"$root/scripts/install-deps.sh" || exit 1

# --- build --------------------------------------------------------------------------------------
if ! dotnet build Pmip6Akka.sln -c Release -nologo -v quiet; then
  echo "0 passed, 1 failed"
  echo "test.sh: the build failed" >&2
  exit 1
fi

# --- run every test project -----------------------------------------------------------------------
passed=0 failed=0 skipped=0 status=0
for project in tests/*/*.csproj; do
  name="$(basename "$project" .csproj)"
  log="$(mktemp)"
  dotnet test "$project" -c Release --no-build --nologo 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary="$(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1)"
  notests=0; grep -qE "No test is available|TestAdapterPath" "$log" && notests=1
  rm -f "$log"
  if [ -z "$summary" ] && [ "$rc" -eq 0 ] && [ "$notests" -eq 1 ]; then
    echo "test.sh: $name has no tests yet"; continue
  fi
  if [ -z "$summary" ]; then
    echo "test.sh: $name produced no test summary (exit $rc): counted as one failure" >&2
    failed=$((failed + 1)); status=1; continue
  fi
  f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")
  p=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$summary")
  s=$(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  [ "$rc" -ne 0 ] && status=1
done

[ "$failed" -gt 0 ] && status=1
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
exit $status
