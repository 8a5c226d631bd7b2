/*
 * Page allocations by domain: who asked (pid, execname, the CPU's domain,
 * the thread's domainset policy) against the segment that supplied the page.
 * The page's segment index is mapped to its domain in user space from
 * vm.phys_segs, so the script needs no table of segments.
 */

fbt::vm_page_alloc_domain_after:entry
{
	self->na_pages = 1;
}

fbt::vm_page_alloc_contig_domain:entry
{
	self->na_pages = arg4;
}

/* A failed allocation returns NULL: count only pages that were handed out. */
fbt::vm_page_alloc_domain_after:return,
fbt::vm_page_alloc_contig_domain:return
/self->na_pages && arg1 != 0/
{
	this->seg = ((struct vm_page *)arg1)->segind;
	this->cpudom = `cpuid_to_pcpu[cpu]->pc_domain;
	this->policy = curthread->td_domain.dr_policy->ds_policy;
	@na_events[pid, this->cpudom, this->seg, this->policy, execname] = count();
	@na_pages[pid, this->cpudom, this->seg, this->policy, execname] =
	    sum(self->na_pages);
	@na_runs[this->seg] = quantize(self->na_pages);
}

fbt::vm_page_alloc_domain_after:return,
fbt::vm_page_alloc_contig_domain:return
{
	self->na_pages = 0;
}
