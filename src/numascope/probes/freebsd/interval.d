/*
 * Print every aggregation once per interval between begin and end markers,
 * then clear it: the consumer applies printa and trunc to the same snapshot,
 * so no count is printed twice or lost, and user space keeps running totals.
 * NUMASCOPE_INTERVAL is replaced with the poll interval (e.g. "1s").
 */

tick-NUMASCOPE_INTERVAL
{
	printf("numascope begin %d\n", walltimestamp);
	printa("alloc %d %d %d %d %@d %s\n", @na_events);
	printa("pages %d %d %d %d %@d %s\n", @na_pages);
	printa("runs %d\n%@d\n", @na_runs);
	printa("pdwake %d %@d\n", @pd_wakeups);
	printa("pdns %d %@d %s\n", @pd_ns);
	printa("launder %d %@d\n", @pd_laundered);
	printa("pdtarget %d %@d\n", @pd_target);
	printa("pdfreed %d %@d\n", @pd_freed);
	printa("uma %d %d %@d %s\n", @uma_allocs);
	printa("irq %d %d %d %@d %s\n", @ie_count);
	printa("irqns %d %d %d %@d %s\n", @ie_ns);
	printa("ithreadns %d %d %d %@d %s\n", @it_ns);
	trunc(@na_events);
	trunc(@na_pages);
	trunc(@na_runs);
	trunc(@pd_wakeups);
	trunc(@pd_ns);
	trunc(@pd_laundered);
	trunc(@pd_target);
	trunc(@pd_freed);
	trunc(@uma_allocs);
	trunc(@ie_count);
	trunc(@ie_ns);
	trunc(@it_ns);
	printf("numascope end\n");
}
