/*
 * UMA allocations per zone, by the domain of the CPU that asked and the
 * domain it asked for: uma_zalloc_arg leaves the choice to UMA (-1, as
 * UMA_ANYDOMAIN), uma_zalloc_domain names one. The zone name is printed
 * last because names such as "256 Bucket" hold spaces; user space keeps the
 * busiest zones.
 */

fbt::uma_zalloc_arg:entry
/!self->uma_in/
{
	@uma_allocs[`cpuid_to_pcpu[cpu]->pc_domain, -1,
	    stringof(args[0]->uz_name)] = count();
}

/* uma_zalloc_domain may fall back to uma_zalloc_arg: count the call once. */
fbt::uma_zalloc_domain:entry
{
	self->uma_in = 1;
	@uma_allocs[`cpuid_to_pcpu[cpu]->pc_domain, (int)arg2,
	    stringof(args[0]->uz_name)] = count();
}

fbt::uma_zalloc_domain:return
{
	self->uma_in = 0;
}
