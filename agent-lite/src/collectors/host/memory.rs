//! `system.mem.*` and `system.swap.*` as the Agent's memory check reports them: sizes in MiB
//! (bytes / 1024 / 1024), `pct_usable` and `swap.pct_free` as fractions.

use procfs_core::Meminfo;

use crate::collectors::batch::Batch;

/// procfs_core gives /proc/meminfo in bytes (the file says kB).
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn write(batch: &mut Batch, m: &Meminfo) {
    // Kernels before 3.14 have no MemAvailable: estimate it the way `free` did then.
    let usable = m.mem_available.unwrap_or(m.mem_free + m.buffers + m.cached);
    // The Agent's figure (through gopsutil) counts reclaimable slab as cache, as `free` does.
    let cached = m.cached + m.s_reclaimable.unwrap_or(0);
    let g = |batch: &mut Batch, name: &str, v: f64| batch.gauge(name, &[], v);
    g(batch, "system.mem.total", mib(m.mem_total));
    g(batch, "system.mem.free", mib(m.mem_free));
    g(
        batch,
        "system.mem.used",
        mib(m.mem_total.saturating_sub(m.mem_free)),
    );
    g(batch, "system.mem.usable", mib(usable));
    if m.mem_total > 0 {
        g(
            batch,
            "system.mem.pct_usable",
            usable as f64 / m.mem_total as f64,
        );
    }
    g(batch, "system.mem.cached", mib(cached));
    g(batch, "system.mem.buffered", mib(m.buffers));
    g(batch, "system.mem.shared", mib(m.shmem.unwrap_or(0)));
    g(batch, "system.mem.slab", mib(m.slab));
    if let Some(v) = m.s_reclaimable {
        g(batch, "system.mem.slab_reclaimable", mib(v));
    }
    if let Some(v) = m.page_tables {
        g(batch, "system.mem.page_tables", mib(v));
    }
    if let Some(v) = m.commit_limit {
        g(batch, "system.mem.commit_limit", mib(v));
    }
    g(batch, "system.mem.committed_as", mib(m.committed_as));

    g(batch, "system.swap.total", mib(m.swap_total));
    g(batch, "system.swap.free", mib(m.swap_free));
    g(
        batch,
        "system.swap.used",
        mib(m.swap_total.saturating_sub(m.swap_free)),
    );
    // No swap at all is reported as all of it free, as the Agent does.
    let pct_free = if m.swap_total == 0 {
        1.0
    } else {
        m.swap_free as f64 / m.swap_total as f64
    };
    g(batch, "system.swap.pct_free", pct_free);
    g(batch, "system.swap.cached", mib(m.swap_cached));
}
