# Sourced by scripts/setup and scripts/install: the one place that installs Debian
# packages, mounts tracefs and installs numascope's Python packages with the lock.

# What numascope needs at run time on a Debian 12 host.
RUNTIME_PACKAGES=(python3-bpfcc python3-venv python3-dev numactl linux-headers-amd64 bpftool
                  bpftrace)

# Install the Debian packages named that are not installed yet.
install_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "numascope: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# bcc attaches tracepoints through tracefs, which a host without systemd as PID 1
# does not mount at boot (systemd's sys-kernel-tracing.mount does elsewhere).
mount_tracefs() {
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
  mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug || true
}

# A venv on Debian's Python that sees Debian's bcc (PyPI's "bcc" is another project).
make_venv() {
  [ -x "$1/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$1"
}

# pip install into venv $1 the remaining arguments, every version as constraints.txt pins it.
pip_install_locked() {
  local venv=$1
  shift
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt "$@"
}
