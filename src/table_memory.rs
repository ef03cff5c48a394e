//! Memory for the session map's tables: a large one on huge pages.
//!
//! A read of a session finds its entry at a random place in its shard's table. Once the tables
//! outgrow what the processor's TLB maps in 4 KiB pages (a few MiB), nearly every such read
//! also walks the page tables, a second wait for memory before the entry's own (two on a
//! virtual machine, whose walks are nested). A table of at least [`SMALLEST`] bytes is
//! therefore given whole 2 MiB-aligned huge pages of its own, which the kernel is asked to back
//! with transparent huge pages (`MADV_HUGEPAGE`): one TLB entry maps 512 times as much.
//! Where the kernel does not (transparent huge pages off, another system), the region is
//! ordinary memory, and only its pages that are touched are resident.
//!
//! The cost is the rounding up to whole huge pages: the tables hashbrown makes of at least
//! [`SMALLEST`] bytes are 57 bytes a bucket and a power of two of buckets, 0.89 of a whole
//! number of huge pages, so 12 % more than the table (at 1,000,000 sessions, 64 tables of
//! 1.87 MiB in 2 MiB each: about 15 bytes a session). Smaller tables come from the global
//! allocator, as std's `HashMap` takes them.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

/// A huge page of x86-64 and arm64 Linux with 4 KiB base pages.
const HUGE_PAGE: usize = 2 << 20;

/// The smallest table given huge pages: three quarters of one, so that rounding up costs at
/// most a third of the table.
const SMALLEST: usize = HUGE_PAGE / 4 * 3;

/// The allocator of the session map's tables (see the module's documentation).
#[derive(Clone, Copy, Default)]
pub(crate) struct TableMemory;

/// Whether an allocation of `layout` goes to huge pages; decided by the layout alone, so that
/// its deallocation goes where it came from.
fn on_huge_pages(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= SMALLEST && layout.align() <= HUGE_PAGE
}

// SAFETY: every block handed out is valid for its layout until it is deallocated, whoever
// holds a copy of this (stateless) allocator; `deallocate` sends each block back where
// `allocate` took it from, which the layout alone decides.
unsafe impl Allocator for TableMemory {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = if layout.size() == 0 {
            // A zero-sized block is never read or written: any aligned address will do.
            NonNull::new(layout.align() as *mut u8)
        } else if on_huge_pages(layout) {
            huge::map(layout.size())
        } else {
            // SAFETY: the layout's size is not zero.
            NonNull::new(unsafe { std::alloc::alloc(layout) })
        };
        block
            .map(|block| NonNull::slice_from_raw_parts(block, layout.size()))
            .ok_or(AllocError)
    }

    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        if on_huge_pages(layout) {
            // SAFETY: by this function's contract, `block` came from `allocate` with `layout`,
            // which mapped it (`huge::map`) for the same size.
            unsafe { huge::unmap(block, layout.size()) };
        } else {
            // SAFETY: as above, from `std::alloc::alloc` with this layout.
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
        }
    }
}

#[cfg(target_os = "linux")]
mod huge {
    use std::ptr::{NonNull, null_mut};

    use super::HUGE_PAGE;

    /// `size` rounded up to whole huge pages.
    fn rounded(size: usize) -> Option<usize> {
        size.div_ceil(HUGE_PAGE).checked_mul(HUGE_PAGE)
    }

    /// A new zeroed region of at least `size` bytes in whole huge pages, aligned to one, that
    /// the kernel is asked to back with huge pages; `None` when there is no memory for it.
    pub(super) fn map(size: usize) -> Option<NonNull<u8>> {
        let length = rounded(size)?;
        // One huge page more than needed, so that an aligned start is inside; the parts
        // before and after it are given back at once.
        let reserved = length.checked_add(HUGE_PAGE)?;
        // SAFETY: a new private anonymous mapping, which overlaps nothing of anyone's.
        let base = unsafe {
            libc::mmap(
                null_mut(),
                reserved,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let base = base as usize;
        let start = base.next_multiple_of(HUGE_PAGE);
        let end = start + length;
        // SAFETY: both ranges are parts of the mapping just made, outside the region kept,
        // and page-aligned (base is; start and end are huge-page-aligned).
        unsafe {
            if start > base {
                libc::munmap(base as *mut libc::c_void, start - base);
            }
            if base + reserved > end {
                libc::munmap(end as *mut libc::c_void, base + reserved - end);
            }
            // Advice only: refused (transparent huge pages compiled out), the region is
            // ordinary memory.
            libc::madvise(start as *mut libc::c_void, length, libc::MADV_HUGEPAGE);
        }
        NonNull::new(start as *mut u8)
    }

    /// Gives back a region [`map`] made for `size` bytes.
    ///
    /// # Safety
    /// `region` came from `map(size)` and nothing uses it any more.
    pub(super) unsafe fn unmap(region: NonNull<u8>, size: usize) {
        let length = rounded(size).expect("a size that was mapped rounds up");
        // SAFETY: the region is the whole of what `map` kept, by this function's contract.
        unsafe { libc::munmap(region.as_ptr().cast(), length) };
    }
}

#[cfg(not(target_os = "linux"))]
mod huge {
    use std::ptr::NonNull;

    pub(super) fn map(_size: usize) -> Option<NonNull<u8>> {
        unreachable!("huge pages are asked for on Linux only")
    }

    pub(super) unsafe fn unmap(_region: NonNull<u8>, _size: usize) {
        unreachable!("huge pages are asked for on Linux only")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that map huge-page regions, one at a time: a region of one is never taken for
    /// the other's (no other test of the library makes a table this large).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Whether the mapping that holds `address` was advised to use huge pages (`hg` among its
    /// flags in /proc/self/smaps); `None` when nothing is mapped there.
    #[cfg(target_os = "linux")]
    fn advised_huge(address: usize) -> Option<bool> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split(' ').next().unwrap_or_default();
            if let Some((from, to)) = range.split_once('-')
                && let (Ok(from), Ok(to)) = (
                    usize::from_str_radix(from, 16),
                    usize::from_str_radix(to, 16),
                )
            {
                inside = (from..to).contains(&address);
            } else if inside && line.starts_with("VmFlags:") {
                return Some(line.split_whitespace().any(|flag| flag == "hg"));
            }
        }
        None
    }

    #[test]
    fn a_large_table_gets_aligned_huge_page_memory_and_gives_it_back() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let layout = Layout::from_size_align(SMALLEST + 12345, 16).unwrap();
        let block = TableMemory.allocate(layout).unwrap();
        let bytes = block.as_ptr() as *mut u8;
        assert_eq!(block.len(), layout.size());
        #[cfg(target_os = "linux")]
        {
            assert_eq!(bytes as usize % HUGE_PAGE, 0, "aligned to a huge page");
            assert_eq!(advised_huge(bytes as usize), Some(true));
            assert_eq!(advised_huge(bytes as usize + HUGE_PAGE - 1), Some(true));
        }
        // SAFETY: the block is `layout.size()` bytes, all written, then given back.
        unsafe {
            std::ptr::write_bytes(bytes, 0xAB, layout.size());
            assert_eq!(*bytes.add(layout.size() - 1), 0xAB);
            TableMemory.deallocate(NonNull::new_unchecked(bytes), layout);
        }
        #[cfg(target_os = "linux")]
        assert_ne!(advised_huge(bytes as usize), Some(true), "given back");
    }

    #[test]
    fn a_small_table_and_an_empty_one_come_from_the_global_allocator() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        for size in [0, 1, 4096, SMALLEST - 1] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            let block = TableMemory.allocate(layout).unwrap();
            let bytes = block.as_ptr() as *mut u8;
            assert_eq!(bytes as usize % 16, 0);
            #[cfg(target_os = "linux")]
            if size > 0 {
                assert_ne!(advised_huge(bytes as usize), Some(true), "{size} bytes");
            }
            // SAFETY: the block is `size` bytes, written, then given back.
            unsafe {
                std::ptr::write_bytes(bytes, 1, size);
                TableMemory.deallocate(NonNull::new_unchecked(bytes), layout);
            }
        }
    }

    #[test]
    fn a_map_grows_onto_huge_pages_and_shrinks_back() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        type Hasher = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
        let mut map: hashbrown::HashMap<u64, [u64; 6], Hasher, TableMemory> =
            hashbrown::HashMap::with_hasher_in(Hasher::default(), TableMemory);
        for i in 0..40_000u64 {
            map.insert(i, [i; 6]);
        }
        #[cfg(target_os = "linux")]
        assert_eq!(
            advised_huge(map.get(&7).unwrap().as_ptr() as usize),
            Some(true)
        );
        assert!((0..40_000u64).all(|i| map[&i] == [i; 6]));
        map.retain(|&k, _| k < 10);
        map.shrink_to_fit();
        assert_eq!(map.len(), 10);
        assert!((0..10u64).all(|i| map[&i] == [i; 6]));
        #[cfg(target_os = "linux")]
        assert_ne!(
            advised_huge(map.get(&7).unwrap().as_ptr() as usize),
            Some(true)
        );
    }
}
