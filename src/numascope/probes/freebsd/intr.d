/*
 * Interrupt handling per interrupt event, by the domain of the CPU that ran
 * it: the filter stage (intr_event_handle) and the interrupt thread.
 * The device's domain comes from dev.<driver>.<unit>.%domain in user space.
 */

fbt::intr_event_handle:entry
{
	self->ie = args[0];
	self->ie_ts = timestamp;
}

fbt::intr_event_handle:return
/self->ie_ts && self->ie != 0/
{
	this->dom = `cpuid_to_pcpu[cpu]->pc_domain;
	@ie_count[self->ie->ie_irq, self->ie->ie_cpu, this->dom,
	    stringof(self->ie->ie_fullname)] = count();
	@ie_ns[self->ie->ie_irq, self->ie->ie_cpu, this->dom,
	    stringof(self->ie->ie_fullname)] = sum(timestamp - self->ie_ts);
	self->ie_ts = 0;
	self->ie = 0;
}

fbt::ithread_execute_handlers:entry
{
	self->it = args[1];
	self->it_ts = timestamp;
}

fbt::ithread_execute_handlers:return
/self->it_ts && self->it != 0/
{
	this->dom = `cpuid_to_pcpu[cpu]->pc_domain;
	@it_ns[self->it->ie_irq, self->it->ie_cpu, this->dom,
	    stringof(self->it->ie_fullname)] = sum(timestamp - self->it_ts);
	self->it_ts = 0;
	self->it = 0;
}
