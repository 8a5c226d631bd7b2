/*
 * The page daemon per domain: wake-up requests, time spent scanning the
 * inactive and active queues, pages the inactive scan aimed to free and
 * freed, and pages the laundry thread cleaned.
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

/*
 * The inactive scan adds the pages it freed to the domain's
 * vmd_clean_pages_freed (the laundry thread's accumulator, reset only by that
 * thread), so the difference across the call is this scan's freed pages. Its
 * target (the shortage argument) stands for the pages it set out to scan.
 */
fbt::vm_pageout_scan_inactive:entry
{
	self->pd_vmd = args[0];
	self->pd_freed0 = args[0]->vmd_clean_pages_freed;
	@pd_target[args[0]->vmd_domain] = sum(arg1);
}

fbt::vm_pageout_scan_inactive:return
/self->pd_ts/
{
	@pd_ns[self->pd_dom, "inactive"] = sum(timestamp - self->pd_ts);
	this->freed = (int)(self->pd_vmd->vmd_clean_pages_freed - self->pd_freed0);
	@pd_freed[self->pd_dom] = sum(this->freed > 0 ? this->freed : 0);
	self->pd_ts = 0;
	self->pd_vmd = 0;
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
