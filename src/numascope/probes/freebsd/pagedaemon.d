/*
 * The page daemon per domain: wake-up requests, time spent scanning the
 * inactive and active queues, and pages the laundry thread cleaned.
 */

fbt::pagedaemon_wakeup:entry
{
	@pd_wakeups[arg0] = count();
}

fbt::vm_pageout_scan_inactive:entry,
fbt::vm_pageout_scan_active:entry
{
	self->pd_dom = args[0]->vmd_domain;
	self->pd_ts = timestamp;
}

fbt::vm_pageout_scan_inactive:return
/self->pd_ts/
{
	@pd_ns[self->pd_dom, "inactive"] = sum(timestamp - self->pd_ts);
	self->pd_ts = 0;
}

fbt::vm_pageout_scan_active:return
/self->pd_ts/
{
	@pd_ns[self->pd_dom, "active"] = sum(timestamp - self->pd_ts);
	self->pd_ts = 0;
}

fbt::vm_pageout_launder:entry
{
	self->pd_ldom = args[0]->vmd_domain;
	self->pd_lon = 1;
}

/* vm_pageout_launder returns the number of pages it laundered. */
fbt::vm_pageout_launder:return
/self->pd_lon/
{
	@pd_laundered[self->pd_ldom] = sum(arg1);
	self->pd_lon = 0;
}
