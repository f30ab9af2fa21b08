# Sourced, not run: the environment every local Pulumi command here uses.
# State stays in this checkout (.state/, ignored by git); nothing leaves the machine.
: "${AION_STATE:=$PWD/.state}"
export PULUMI_BACKEND_URL="file://$AION_STATE/pulumi"
# The local stack's secrets are throwaway: a fixed passphrase unless you set one.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-aion-local}"
export PULUMI_SKIP_UPDATE_CHECK=true
# Plugins come from PULUMI_HOME at the exact version the Python packages pin,
# never from a download or whatever `pulumi-resource-*` happens to be on PATH.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
export AION_LOCAL_KUBECONFIG="${AION_LOCAL_KUBECONFIG:-$AION_STATE/local/kubeconfig}"
# The plugins the bootstrap installed (the kubernetes provider at the pinned version).
[ -n "${AION_PULUMI_HOME:-}" ] && export PULUMI_HOME="$AION_PULUMI_HOME"
# The project's virtualenv runs the program and its dynamic provider. Pulumi.yaml says so
# too, but the language host built offline (v3.79) predates that option's new protocol.
export PULUMI_PYTHON_CMD="${PULUMI_PYTHON_CMD:-$PWD/.venv/bin/python}"
mkdir -p "$AION_STATE/pulumi"
