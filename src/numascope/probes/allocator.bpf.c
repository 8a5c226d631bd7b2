// numascope allocator probe: the per-CPU page caches and kcompactd, per node.
//
// An allocation served from a CPU's per-CPU page list takes no lock; when the
// list is empty the allocator refills it from the buddy lists under the zone
// lock (traced with percpu_refill = 1, once per page moved), and allocations
// that bypass the lists take the zone lock directly (percpu_refill = 0).
// Drains move pages from a CPU's list back to the buddy lists. Everything here
// is a per-CPU counter indexed by the page's node: no lookup beyond the one
// per-CPU slot, no atomics.
//
// The two page-list events fire for every page refilled or drained, so each has
// a raw tracepoint entry (`*_raw`) next to the perf tracepoint's: attached when
// the page-allocation probe calibrated the page pointer -> pfn translation,
// which skips the trace record the kernel builds for the perf tracepoint.
//
// Generated before compiling: NODE_SLOTS, MAX_NID, PAGE_PFN(page) (the
// translation, or 0 without one: the raw entries are then not attached),
// page_node_slot() and the tracepoint record structs.

struct pcp_counts {
    u64 refill_pages[NODE_SLOTS];
    u64 direct_pages[NODE_SLOTS];
    u64 direct_events[NODE_SLOTS];
    u64 drained_pages[NODE_SLOTS];
};

BPF_PERCPU_ARRAY(pcp, struct pcp_counts, 1);
BPF_PERCPU_ARRAY(kcompactd_wakes, u64, MAX_NID);

TRACEPOINT_STRUCTS

PAGE_NODE_SLOT_FUNCTION

static __always_inline int count_zone_locked(u64 pfn, u32 order, int percpu_refill)
{
    u32 zero = 0;
    struct pcp_counts *c = pcp.lookup(&zero);
    if (!c)
        return 0;
    u32 slot = page_node_slot(pfn);
    if (slot >= NODE_SLOTS)
        return 0;
    u64 pages = 1ULL << (order & 31);
    if (percpu_refill) {
        c->refill_pages[slot] += pages;
    } else {
        c->direct_pages[slot] += pages;
        c->direct_events[slot] += 1;
    }
    return 0;
}

static __always_inline int count_pcpu_drain(u64 pfn, u32 order)
{
    u32 zero = 0;
    struct pcp_counts *c = pcp.lookup(&zero);
    if (!c)
        return 0;
    u32 slot = page_node_slot(pfn);
    if (slot < NODE_SLOTS)
        c->drained_pages[slot] += 1ULL << (order & 31);
    return 0;
}

int on_zone_locked(struct zone_locked_args *args)
{
    return count_zone_locked(args->pfn, args->order, args->percpu_refill);
}

// Raw tracepoint mm_page_alloc_zone_locked(page, order, migratetype, percpu_refill).
int on_zone_locked_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return count_zone_locked(PAGE_PFN(ctx->args[0]), ctx->args[1], ctx->args[3]);
}

int on_pcpu_drain(struct pcpu_drain_args *args)
{
    return count_pcpu_drain(args->pfn, args->order);
}

// Raw tracepoint mm_page_pcpu_drain(page, order, migratetype).
int on_pcpu_drain_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return count_pcpu_drain(PAGE_PFN(ctx->args[0]), ctx->args[1]);
}

int on_kcompactd_wake(struct kcompactd_wake_args *args)
{
    u32 nid = args->nid;
    u64 *count = kcompactd_wakes.lookup(&nid);
    if (count)
        *count += 1;
    return 0;
}
