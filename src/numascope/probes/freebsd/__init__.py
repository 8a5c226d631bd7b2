"""D scripts for the FreeBSD backend; `numascope.probes.dtrace` runs them."""
