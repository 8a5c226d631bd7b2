"""FreeBSD backend: DTrace output into the same snapshots the Linux backend makes."""
