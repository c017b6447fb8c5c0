//! The CPU sampler: the kernel's profiling timer (`setitimer(ITIMER_PROF)`, which counts the
//! process' CPU time and signals the thread that spent it) fires SIGPROF about `hz` times a
//! CPU-second; the handler takes the thread's stack with the `backtrace` crate's unwinder
//! (rust-lang's, the one std uses) and its span ids, into a fixed ring of slots that a thread
//! drains. This is pprof-rs's method; pprof-rs itself is not used because its collector merges
//! samples by stack and thread in the handler, so a sample's span (Datadog's `span id` and
//! `local root span id` labels, what code hotspots need) cannot be kept.
//!
//! What the handler does is bounded and allocation-free: one atomic claim of a slot, at most
//! [`MAX_FRAMES`] frames; a sample that finds its slot still full is counted as dropped.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

pub const MAX_FRAMES: usize = 64;
const SLOTS: usize = 1024;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const FULL: u8 = 2;

/// One sample as the handler wrote it: instruction pointers, leaf first.
#[derive(Clone, Copy)]
pub struct RawSample {
    pub ips: [usize; MAX_FRAMES],
    pub len: usize,
    pub span_id: u64,
    pub local_root_span_id: u64,
}

struct Slot {
    state: AtomicU8,
    sample: UnsafeCell<RawSample>,
}

struct Ring([Slot; SLOTS]);

// A slot's sample is written only by whoever moved its state EMPTY -> WRITING, and read only
// once it is FULL: the state orders every access.
unsafe impl Sync for Ring {}

static RING: Ring = Ring(
    [const {
        Slot {
            state: AtomicU8::new(EMPTY),
            sample: UnsafeCell::new(RawSample {
                ips: [0; MAX_FRAMES],
                len: 0,
                span_id: 0,
                local_root_span_id: 0,
            }),
        }
    }; SLOTS],
);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Samples lost because the drain fell behind.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The interrupted instruction, from the signal's context: the frames above it are the
/// handler's own and the kernel's trampoline, which the sample leaves out.
#[allow(unused_variables)]
fn interrupted_ip(context: *mut libc::c_void) -> usize {
    if context.is_null() {
        return 0;
    }
    let uc = context as *const libc::ucontext_t;
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        // SAFETY: the kernel passes a ucontext_t to an SA_SIGINFO handler.
        unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize }
    }
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    {
        // SAFETY: as above.
        unsafe { (*uc).uc_mcontext.pc as usize }
    }
    #[cfg(not(any(
        all(target_arch = "x86_64", target_os = "linux"),
        all(target_arch = "aarch64", target_os = "linux")
    )))]
    {
        0
    }
}

extern "C" fn on_sigprof(
    _sig: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let errno = std::io::Error::last_os_error().raw_os_error();
    let i = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    let slot = &RING.0[i];
    if slot
        .state
        .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: this handler owns the slot (state WRITING) until it stores FULL.
    let sample = unsafe { &mut *slot.sample.get() };
    let leaf = interrupted_ip(context);
    let mut len = 0;
    let mut found_leaf = leaf == 0;
    // SAFETY: trace_unsynchronized is the unwinder pprof-rs calls in its handler too; the
    // stack is this thread's own.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            let ip = frame.ip() as usize;
            if !found_leaf {
                if ip != leaf {
                    return true;
                }
                found_leaf = true;
            }
            sample.ips[len] = ip;
            len += 1;
            len < MAX_FRAMES
        });
    }
    if !found_leaf && leaf != 0 {
        // The unwinder did not meet the interrupted frame: keep the leaf alone.
        sample.ips[0] = leaf;
        len = 1;
    }
    sample.len = len;
    let ids = crate::telemetry::span_ids::SpanIds::current();
    (sample.span_id, sample.local_root_span_id) = (ids.span_id, ids.local_root_span_id);
    slot.state.store(FULL, Ordering::Release);
    // The interrupted code may be about to read errno.
    if let Some(e) = errno {
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = e };
    }
}

/// Installs the handler and starts the timer at `hz` samples a CPU-second.
pub fn start(hz: u32) -> std::io::Result<()> {
    // SAFETY: a handler of the SA_SIGINFO shape, installed before the timer fires.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigprof as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let period_us = (1_000_000 / hz.max(1)) as libc::suseconds_t;
        let interval = libc::timeval {
            tv_sec: 0,
            tv_usec: period_us,
        };
        let timer = libc::itimerval {
            it_interval: interval,
            it_value: interval,
        };
        if libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Stops the timer (the handler stays, with nothing to fire it).
pub fn stop() {
    // SAFETY: a zero timer disarms it.
    unsafe {
        let timer: libc::itimerval = std::mem::zeroed();
        libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut());
    }
}

/// Moves every full slot's sample into `out`.
pub fn drain(out: &mut Vec<RawSample>) {
    for slot in &RING.0 {
        if slot.state.load(Ordering::Acquire) == FULL {
            // SAFETY: FULL: the handler is done with it, and only this drain reads it.
            out.push(unsafe { *slot.sample.get() });
            slot.state.store(EMPTY, Ordering::Release);
        }
    }
}
