// numascope migration probe: pages the kernel moved, by the task that moved
// them and why, with the nodes the pages left and reached where they are seen.
//
// migrate:mm_migrate_pages fires once per migrate_pages() call with its
// counts and reason. It carries no node, so the call is bracketed: between
// mm_migrate_pages_start and mm_migrate_pages the migrating thread has a
// `window`; a page it is given in that window (kmem:mm_page_alloc) is a
// migration target, a page it frees there (kmem:mm_page_free) a source, each
// on the node its pfn lies in. Pages neither seen allocated nor freed in the
// window (compaction takes its targets off the free lists; a source still
// referenced elsewhere is freed later) stay "unknown" in user space.
//
// The page hooks run on every allocation and free of the host, so they first
// read one array slot (`open_windows`) and return when no migration runs. With
// the page-allocation family's calibrated page translation they run on the raw
// tracepoints (`*_raw`): the perf tracepoints' records cost every allocation
// more, whether a migration runs or not.
// Counts are cumulative in a per-CPU hash keyed by (tgid, reason): no atomics
// on the hot path, never cleared (user space keeps the deltas).
//
// NUMA balancing also moves tasks toward their memory. sched:sched_move_numa
// (the task moved to a CPU of another node), sched_swap_numa (two tasks
// traded CPUs) and sched_stick_numa (balancing wanted to move the task and
// found no CPU it could use, or the move failed) fire from the faulting task,
// at most once per retry interval of that task (a sixteenth of its scan
// period, a second at most): `task_moves` counts them by (tgid, outcome, node
// the task was sent to); a swap counts for both tasks.
//
// Generated before compiling: NODE_SLOTS (nodes + 1 for "unknown"),
// MAX_MIGRATE_KEYS, MAX_TASK_MOVE_KEYS, MAX_REASONS, HAVE_LARGE_FOLIO_SPLIT (the
// 6.18 field),
// PAGE_PFN() (the page translation, 0 without one: the raw entries are then
// not attached), page_node_slot() and the tracepoint record structs.

struct migrate_key {
    u32 tgid;
    u32 reason;
};

struct migrate_counts {
    char comm[16];
    u64 cgroup_id;
    u64 calls;
    u64 succeeded;
    u64 failed;
    u64 thp_succeeded;
    u64 thp_failed;
    u64 thp_split;
    u64 large_folio_split;
    u64 targets[NODE_SLOTS];  // pages allocated in a window, by node slot
    u64 sources[NODE_SLOTS];  // pages freed in a window, by node slot
};

struct window {
    u32 reason;
    u32 tgid;
};

BPF_PERCPU_HASH(migrations, struct migrate_key, struct migrate_counts, MAX_MIGRATE_KEYS);
// Indexed by reason: what the hash had no room for, so totals stay exact.
BPF_PERCPU_ARRAY(migrate_overflow, struct migrate_counts, MAX_REASONS);
BPF_HASH(windows, u32, struct window, 1024);

// Outcomes of a NUMA balancing task move (user space names them in this order).
#define TASK_MOVED 0
#define TASK_SWAPPED 1
#define TASK_STUCK 2
#define TASK_OUTCOMES 3

struct task_move_key {
    u32 tgid;
    u32 outcome;
    s32 to_nid;  // the node the task was sent to; -1 when balancing found none
    u32 pad;
};

struct task_move_counts {
    char comm[16];  // empty for the other task of a swap (not the current one)
    u64 events;
};

BPF_PERCPU_HASH(task_moves, struct task_move_key, struct task_move_counts, MAX_TASK_MOVE_KEYS);
// Indexed by outcome: what the hash had no room for.
BPF_PERCPU_ARRAY(task_move_overflow, struct task_move_counts, TASK_OUTCOMES);
BPF_ARRAY(open_windows, u64, 1);

TRACEPOINT_STRUCTS

PAGE_NODE_SLOT_FUNCTION

static __always_inline struct migrate_counts *entry(u32 tgid, u32 reason)
{
    struct migrate_key key = {};
    key.tgid = tgid;
    key.reason = reason < MAX_REASONS ? reason : MAX_REASONS - 1;
    struct migrate_counts *c = migrations.lookup(&key);
    if (c)
        return c;
    struct migrate_counts init = {};
    migrations.insert(&key, &init);
    c = migrations.lookup(&key);
    if (c)
        return c;
    u32 idx = key.reason;
    return migrate_overflow.lookup(&idx);
}

int on_migrate_start(struct migrate_start_args *args)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id;
    struct window w = {};
    w.reason = args->reason;
    w.tgid = id >> 32;
    if (windows.lookup(&tid) == 0 && windows.insert(&tid, &w) == 0) {
        u32 zero = 0;
        u64 *open = open_windows.lookup(&zero);
        if (open)
            __sync_fetch_and_add(open, 1);
    }
    return 0;
}

int on_migrate_end(struct migrate_args *args)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id;
    if (windows.delete(&tid) == 0) {
        u32 zero = 0;
        u64 *open = open_windows.lookup(&zero);
        if (open)
            __sync_fetch_and_add(open, -1);
    }
    struct migrate_counts *c = entry(id >> 32, args->reason);
    if (!c)
        return 0;
    bpf_get_current_comm(c->comm, sizeof(c->comm));
    c->cgroup_id = bpf_get_current_cgroup_id();
    c->calls += 1;
    c->succeeded += args->succeeded;
    c->failed += args->failed;
    c->thp_succeeded += args->thp_succeeded;
    c->thp_failed += args->thp_failed;
    c->thp_split += args->thp_split;
#if HAVE_LARGE_FOLIO_SPLIT
    c->large_folio_split += args->large_folio_split;
#endif
    return 0;
}

// The open window of this thread, if a migration runs anywhere at all.
static __always_inline struct window *current_window(void)
{
    u32 zero = 0;
    u64 *open = open_windows.lookup(&zero);
    if (!open || *open == 0)
        return 0;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    return windows.lookup(&tid);
}

static __always_inline int count_target(u64 pfn, u32 order)
{
    struct window *w = current_window();
    if (!w)
        return 0;
    struct migrate_counts *c = entry(w->tgid, w->reason);
    u32 slot = page_node_slot(pfn);
    if (c && slot < NODE_SLOTS)
        c->targets[slot] += 1ULL << (order & 31);
    return 0;
}

static __always_inline int count_source(u64 pfn, u32 order)
{
    struct window *w = current_window();
    if (!w)
        return 0;
    struct migrate_counts *c = entry(w->tgid, w->reason);
    u32 slot = page_node_slot(pfn);
    if (c && slot < NODE_SLOTS)
        c->sources[slot] += 1ULL << (order & 31);
    return 0;
}

int on_page_alloc(struct migrate_alloc_args *args)
{
    if (args->pfn == (u64)-1)  // the allocation failed
        return 0;
    return count_target(args->pfn, args->order);
}

// Raw tracepoint mm_page_alloc(page, order, gfp_flags, migratetype): the window
// is checked before the page pointer is translated.
int on_page_alloc_raw(struct bpf_raw_tracepoint_args *ctx)
{
    if (!ctx->args[0])  // the allocation failed
        return 0;
    return count_target(PAGE_PFN(ctx->args[0]), ctx->args[1]);
}

int on_page_free(struct migrate_free_args *args)
{
    return count_source(args->pfn, args->order);
}

// Raw tracepoint mm_page_free(page, order).
int on_page_free_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return count_source(PAGE_PFN(ctx->args[0]), ctx->args[1]);
}

static __always_inline void count_task_move(u32 tgid, u32 outcome, s32 to_nid, bool current)
{
    struct task_move_key key = {};
    key.tgid = tgid;
    key.outcome = outcome;
    key.to_nid = to_nid;
    struct task_move_counts *c = task_moves.lookup(&key);
    if (!c) {
        struct task_move_counts init = {};
        task_moves.insert(&key, &init);
        c = task_moves.lookup(&key);
    }
    if (!c) {
        u32 idx = outcome;
        c = task_move_overflow.lookup(&idx);
        if (!c)
            return;
    }
    if (current)
        bpf_get_current_comm(c->comm, sizeof(c->comm));
    c->events += 1;
}

int on_task_move(struct task_move_args *args)
{
    u32 me = bpf_get_current_pid_tgid() >> 32;
    count_task_move(args->tgid, TASK_MOVED, args->dst_nid, (u32)args->tgid == me);
    return 0;
}

int on_task_swap(struct task_swap_args *args)
{
    u32 me = bpf_get_current_pid_tgid() >> 32;
    count_task_move(args->src_tgid, TASK_SWAPPED, args->dst_nid, (u32)args->src_tgid == me);
    count_task_move(args->dst_tgid, TASK_SWAPPED, args->src_nid, (u32)args->dst_tgid == me);
    return 0;
}

int on_task_stick(struct task_stick_args *args)
{
    u32 me = bpf_get_current_pid_tgid() >> 32;
    count_task_move(args->src_tgid, TASK_STUCK, args->dst_nid, (u32)args->src_tgid == me);
    return 0;
}
