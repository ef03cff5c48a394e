//! Asking the processor to start bringing a cache line in before it is read, so that a wait
//! for memory overlaps another instead of following it.

/// Starts bringing the cache line at `address` into the caches. A hint only: the address may
/// be stale, freed or never mapped (nothing is read, nothing can fault); where the processor
/// has no such instruction, nothing happens.
#[inline(always)]
pub fn prefetch(address: usize) {
    // SAFETY: PREFETCHT0 (SSE, part of x86-64 itself) reads nothing architecturally and never
    // faults, whatever the address; it only moves a line into the caches.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(address as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
