// numascope slab probe: slab objects per cache, by the node the caller asked
// for (NUMA_NO_NODE, this CPU's node, or another) and the CPU's node.
//
// kmalloc and kmem_cache_alloc are the kernel's most frequent allocations, so
// this family is opt-in (--probes ...,slab) and its cost is in BENCHMARKS.md.
// Per-CPU hash keyed by (call site, object size, kind): no atomics; a cache's
// name is read only when its key is first inserted.
//
// Generated before compiling: NODE_SLOTS, MAX_SLAB_KEYS, node_id_slot() and
// the tracepoint record structs.

#define KIND_KMALLOC 0
#define KIND_CACHE 1

struct slab_key {
    u64 site;   // call site for kmem_cache_alloc; 0 for kmalloc (named by size)
    u32 size;   // bytes_alloc: the object size the cache hands out
    u32 kind;
};

struct slab_counts {
    char name[32];
    u64 objects;
    u64 any_node;                 // requested NUMA_NO_NODE
    u64 requested[NODE_SLOTS];    // requested a specific node (slot)
};

BPF_PERCPU_HASH(slab, struct slab_key, struct slab_counts, MAX_SLAB_KEYS);
BPF_PERCPU_ARRAY(slab_overflow, struct slab_counts, 1);

TRACEPOINT_STRUCTS

NODE_ID_SLOT_FUNCTION

static __always_inline void count_object(struct slab_counts *c, int node)
{
    c->objects += 1;
    if (node < 0) {
        c->any_node += 1;
        return;
    }
    u32 slot = node_id_slot(node);
    if (slot < NODE_SLOTS)
        c->requested[slot] += 1;
}

static __always_inline struct slab_counts *entry(struct slab_key *key, void *args, u32 name_loc)
{
    struct slab_counts *c = slab.lookup(key);
    if (c)
        return c;
    struct slab_counts init = {};
    if (name_loc)
        bpf_probe_read_kernel_str(init.name, sizeof(init.name), args + (name_loc & 0xffff));
    slab.insert(key, &init);
    c = slab.lookup(key);
    if (c)
        return c;
    u32 zero = 0;
    return slab_overflow.lookup(&zero);  // full: counted, unnamed
}

int on_kmalloc(struct kmalloc_args *args)
{
    struct slab_key key = {};
    key.size = args->bytes_alloc;
    key.kind = KIND_KMALLOC;
    struct slab_counts *c = entry(&key, args, 0);
    if (c)
        count_object(c, args->node);
    return 0;
}

int on_cache_alloc(struct cache_alloc_args *args)
{
    struct slab_key key = {};
    key.site = args->call_site;
    key.size = args->bytes_alloc;
    key.kind = KIND_CACHE;
    struct slab_counts *c = entry(&key, args, args->name);
    if (c)
        count_object(c, args->node);
    return 0;
}
