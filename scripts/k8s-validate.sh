#!/usr/bin/env bash
# Validates Kubernetes manifests against the official OpenAPI schemas of the
# Kubernetes versions flowinfra renders for (1.30 and 1.35), strictly (an
# unknown field is an error), with kubernetes-validate from PyPI, which ships
# those schemas. It lives in a venv under the user's cache, made on first use.
#
#   scripts/k8s-validate.sh FILE.yaml...          # multi-document files welcome
#   scripts/k8s-validate.sh k8s/*.yaml
#   K8S_VERSIONS="1.30.0 1.33.0 1.35.0" scripts/k8s-validate.sh FILE.yaml
#
# Exit 0 when every object of every file is valid for every version; else 1,
# with kubernetes-validate's message naming the file, object and field.
set -euo pipefail

KUBERNETES_VALIDATE_VERSION=1.37.0
venv="${XDG_CACHE_HOME:-$HOME/.cache}/flowinfra/venv"
versions="${K8S_VERSIONS:-1.30.0 1.35.0}"

if [ "$#" -eq 0 ]; then
    echo "usage: $0 FILE.yaml..." >&2
    exit 2
fi
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
    echo "k8s-validate: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

status=0
for version in $versions; do
    if "$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" --quiet "$@"; then
        echo "k8s-validate: Kubernetes $version: every object of $# file(s) is valid" >&2
    else
        echo "k8s-validate: Kubernetes $version: INVALID (see above)" >&2
        status=1
    fi
done
exit "$status"
