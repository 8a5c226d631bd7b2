"""numascope: NUMA memory-locality observability for Linux (eBPF) and FreeBSD (DTrace)."""

__version__ = "0.1.0"
