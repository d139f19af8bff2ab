#!/usr/bin/env bash
# Mutation testing of the security-critical modules with mutmut (NOT part of CI: slow on 2 cores).
#
#   bash bench/mutation.sh [module ...]        modules: gate checker ledger audit auth (default: all)
#
# Each module is mutated in a scratch copy of the working tree (the repository is not touched) and only the
# tests that exercise it run against each mutant (mutmut 3 also narrows to the tests that cover the mutated
# function). The score per module is written to bench/mutation-results/<module>.txt; survivors are listed
# there with `mutmut show <name>` diffs. Record the scores in docs/testing.md.
# Needs: pip install "mutmut>=3.3" (the `mutation` extra in pyproject.toml).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/bench/mutation-results"
mkdir -p "$out"
children="${MUTMUT_CHILDREN:-2}"

# module -> "source_path|only_mutate globs (space-separated)|test selection (pytest args, space-separated)"
declare -A MODULES=(
  [gate]="sandbox|sandbox/gate.py|tests/sandbox/test_gate.py tests/sandbox/test_gate_guards.py --deselect tests/sandbox/test_gate_guards.py::test_a_failed_pii_scan_holds_a_real_job"
  [checker]="policies|policies/checker/column_rules.py policies/checker/joins.py policies/checker/allowlist.py|tests/policies"
  [ledger]="policies|policies/ledger.py|tests/dp/test_dp_ledger.py"
  [audit]="audit|audit/chain.py|tests/audit/test_audit_chain.py"
  [auth]="gateway|gateway/auth.py gateway/identity.py|tests/gateway/test_identity.py"
)

toml_list() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }

for module in "${@:-gate checker ledger audit auth}"; do
  for m in $module; do
    spec="${MODULES[$m]:?unknown module $m (gate checker ledger audit auth)}"
    IFS='|' read -r source only tests <<<"$spec"
    scratch="$(mktemp -d /tmp/shuyu-mutation-XXXXXX)"
    echo "== $m: mutating $only (tests: $tests) in $scratch"
    tar -C "$repo" --exclude=.git --exclude=mutants --exclude=bench/mutation-results -cf - . | tar -C "$scratch" -xf -
    # shellcheck disable=SC2086
    cat >>"$scratch/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = $(toml_list $source)
only_mutate = $(toml_list $only)
also_copy = ["common", "catalog", "registry", "policies", "sandbox", "audit", "gateway", "migrations"]
pytest_add_cli_args = ["-p", "no:randomly", "-x", "-q", "-o", "addopts=", "--timeout=300"]
pytest_add_cli_args_test_selection = $(toml_list $tests)
TOML
    start=$(date +%s)
    (cd "$scratch" && mutmut run --max-children "$children" >"$out/$m.log" 2>&1) || true
    (cd "$scratch" && mutmut results --all true >"$out/$m.results" 2>&1) || true
    python3 "$repo/bench/mutation_score.py" "$m" "$out/$m.results" "$(( $(date +%s) - start ))" | tee "$out/$m.txt"
    (cd "$scratch" && for name in $(awk -F: '/: survived/{print $1}' "$out/$m.results"); do mutmut show "$name"; done) \
      >>"$out/$m.txt" 2>&1 || true
    rm -rf "$scratch"
  done
done
