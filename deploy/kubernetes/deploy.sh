#!/usr/bin/env bash
# Deploy an overlay in order: settings, secrets, policies and the database first; then
# the migrations Job (`hub db upgrade`), waited for; then the API and the workers.
#   deploy/kubernetes/deploy.sh demo|production [--dry-run]
# Needs kubectl (1.27 or later; `kubectl kustomize` renders the overlay) and a context
# pointing at the cluster. README.md, "Order", says what each step does.
set -euo pipefail

overlay=${1:?usage: deploy.sh demo|production [--dry-run]}
dry_run=()
if [ "${2:-}" = "--dry-run" ]; then dry_run=(--dry-run=server); fi
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/overlays/$overlay"
[ -f "$dir/kustomization.yaml" ] || { echo "no overlay $dir" >&2; exit 2; }

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$dir" > "$rendered"
namespace=$(sed -n 's/^  namespace: //p' "$rendered" | head -n 1)
timeout=${HUB_DEPLOY_TIMEOUT:-15m}

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace" "${dry_run[@]}"
if [ "$overlay" = production ]; then
  for crd in clusters.postgresql.cnpg.io scaledobjects.keda.sh; do
    kubectl get crd "$crd" >/dev/null || {
      echo "CRD $crd missing: install CloudNativePG and KEDA first (README.md)" >&2; exit 1; }
  done
  kubectl -n "$namespace" get secret hub-secrets >/dev/null || {
    echo "secret hub-secrets missing in $namespace: create it first (README.md, Secrets)" >&2
    exit 1; }
fi

echo "1/4 settings, secrets, network policies, PostgreSQL, Redis"
kubectl apply "${dry_run[@]}" -f "$rendered" -l 'app.kubernetes.io/component notin (api,worker,migrate)'
if [ ${#dry_run[@]} -eq 0 ]; then
  echo "2/4 waiting for PostgreSQL"
  if grep -q '^kind: Cluster$' "$rendered"; then
    kubectl -n "$namespace" wait --for=condition=Ready cluster/hub-db --timeout="$timeout"
  else
    kubectl -n "$namespace" rollout status statefulset/hub-postgres --timeout="$timeout"
  fi
  echo "3/4 migrations: hub db upgrade"
  # A Job's pod template cannot change: the previous run's Job goes first.
  kubectl -n "$namespace" delete job hub-migrate --ignore-not-found --wait=true
  kubectl apply -f "$rendered" -l app.kubernetes.io/component=migrate
  if ! kubectl -n "$namespace" wait --for=condition=complete job/hub-migrate --timeout="$timeout"; then
    kubectl -n "$namespace" logs job/hub-migrate --tail=100 >&2 || true
    echo "the migrations did not complete: the API and the workers were left as they were" >&2
    exit 1
  fi
fi
echo "4/4 the API and the workers"
kubectl apply "${dry_run[@]}" -f "$rendered"
if [ ${#dry_run[@]} -eq 0 ]; then
  kubectl -n "$namespace" rollout status deployment/hub-api --timeout="$timeout"
  if kubectl -n "$namespace" get deployment hub-worker >/dev/null 2>&1; then
    kubectl -n "$namespace" rollout status deployment/hub-worker --timeout="$timeout"
  fi
fi
