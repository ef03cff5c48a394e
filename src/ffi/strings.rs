//! The strings the library hands out through `char **` parameters, and their freeing.
//!
//! A string shorter than [`SMALL`] bytes lives in a block of exactly [`SMALL`] bytes; a longer
//! one is a `CString`'s allocation, its length plus the terminator. So `sessmgr_string_free`
//! knows a string's layout from its length, and each thread keeps one freed block for its next
//! short string: a request's answer (a number, a flag, a short name), freed before the
//! thread's next request, costs no allocation and no free. (A `malloc` and a `free` per answer
//! were a third of a request's time at 100,000 sessions: see bench/analysis.md.)

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

use crate::error::{Error, ErrorKind, Result};

/// The size of a short string's block, its terminator included.
const SMALL: usize = 64;

type Block = [u8; SMALL];

thread_local! {
    /// One block freed on this thread, for its next short string (freed with the thread).
    static SPARE: Cell<Option<Box<Block>>> = const { Cell::new(None) };
}

/// A string for the caller, owned until [`Out::into_raw`] hands it over: dropped before that
/// (an error after the copy, a store's retry), it is freed.
pub(crate) struct Out(NonNull<c_char>);

impl Out {
    pub(crate) fn into_raw(self) -> *mut c_char {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        // SAFETY: made by `copy_out` and not handed over.
        unsafe { free_string(self.0.as_ptr()) }
    }
}

/// A copy of `text` for the caller, made straight from the borrowed text (no `String`
/// between).
pub(crate) fn copy_out(text: &str) -> Result<Out> {
    if text.len() >= SMALL {
        let long = CString::new(text).map_err(|_| nul_inside())?;
        // SAFETY: CString::into_raw never returns NULL.
        return Ok(Out(unsafe { NonNull::new_unchecked(long.into_raw()) }));
    }
    let mut block = SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(|| Box::new([0; SMALL]));
    // Copied and checked in one pass: a few bytes, fewer instructions than `memchr` and
    // `memcpy` calls.
    for (to, &byte) in block.iter_mut().zip(text.as_bytes()) {
        if byte == 0 {
            keep(block);
            return Err(nul_inside());
        }
        *to = byte;
    }
    block[text.len()] = 0;
    Ok(Out(NonNull::from(Box::leak(block)).cast()))
}

/// `text` for the caller, to be freed with `sessmgr_string_free` (a long one in its own
/// allocation, reused).
pub(crate) fn owned_string(text: String) -> Result<*mut c_char> {
    if text.len() < SMALL {
        return copy_out(&text).map(Out::into_raw);
    }
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| nul_inside())
}

fn nul_inside() -> Error {
    Error::new(ErrorKind::Internal, "output text holds a NUL byte")
}

/// Whether the string at `ptr` is shorter than [`SMALL`] bytes. Its first eight bytes are read
/// as one word (every string of this module's has at least [`SMALL`] initialised bytes: a
/// block, or a longer string's own), which settles the short answers (a number, a flag) without
/// a `strlen` call; any other string is measured.
///
/// # Safety
/// `ptr` came from [`owned_string`] or [`Out::into_raw`] and was not freed yet.
unsafe fn shorter_than_small(ptr: *const c_char) -> bool {
    // SAFETY: at least SMALL (> 8) readable bytes, by this function's contract.
    let first = unsafe { ptr.cast::<u64>().read_unaligned() };
    // Whether any of its bytes is zero (the word test has no false positive for that).
    let has_terminator = first.wrapping_sub(crate::id::ONES) & !first & crate::id::HIGH != 0;
    // SAFETY: NUL-terminated, by this function's contract.
    has_terminator || unsafe { CStr::from_ptr(ptr) }.count_bytes() < SMALL
}

/// Frees a string made by [`owned_string`] or [`copy_out`].
///
/// # Safety
/// `ptr` is NULL or came from [`owned_string`] or [`Out::into_raw`] and was not freed yet.
pub(crate) unsafe fn free_string(ptr: *mut c_char) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: a string of this module's, by this function's contract.
    if !unsafe { shorter_than_small(ptr) } {
        // SAFETY: a long string is a CString's, by this module's rule.
        drop(unsafe { CString::from_raw(ptr) });
        return;
    }
    // SAFETY: a short string is a block's, by this module's rule.
    keep(unsafe { Box::from_raw(ptr.cast::<Block>()) });
}

/// Keeps `block` for this thread's next short string; the block kept before (a host freeing
/// several at once) goes back to the allocator, as does this one if the thread's storage is
/// gone (a string freed by a thread-local destructor).
fn keep(block: Box<Block>) {
    let _ = SPARE.try_with(move |spare| spare.set(Some(block)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(ptr: *mut c_char) -> String {
        // SAFETY: a string of this module's, not freed yet.
        unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn every_length_comes_back_whole_and_frees() {
        for len in 0..3 * SMALL {
            let text: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let copied = copy_out(&text).unwrap().into_raw();
            let owned = owned_string(text.clone()).unwrap();
            assert_eq!(text_of(copied), text);
            assert_eq!(text_of(owned), text);
            // SAFETY: made above, freed once.
            unsafe {
                free_string(owned);
                free_string(copied);
            }
        }
    }

    #[test]
    fn a_short_strings_block_is_reused_by_the_threads_next_one_and_a_long_one_never_is() {
        let first = copy_out("1").unwrap().into_raw();
        // SAFETY: made above, freed once.
        unsafe { free_string(first) };
        let second = copy_out("2").unwrap().into_raw();
        assert_eq!(second, first, "the freed block comes back");
        assert_eq!(text_of(second), "2");
        // Two freed at once: one is kept, the other goes back to the allocator.
        let third = owned_string("3".to_owned()).unwrap();
        // SAFETY: made above, each freed once.
        unsafe {
            free_string(second);
            free_string(third);
        }
        let kept = copy_out("4").unwrap().into_raw();
        assert_eq!(kept, third, "the last one freed is kept");
        let fresh = copy_out("5").unwrap().into_raw();
        assert_ne!(fresh, kept);
        let long = "x".repeat(SMALL);
        let long = copy_out(&long).unwrap().into_raw();
        // SAFETY: made above, each freed once.
        unsafe {
            free_string(kept);
            free_string(fresh);
            free_string(long);
        }
        let after = copy_out("6").unwrap().into_raw();
        assert_eq!(
            after, fresh,
            "a long string is not kept in the short strings' place"
        );
        // Nor a long one whose first bytes are not ASCII (the word test for a terminator sees
        // no zero byte in them).
        let accented = copy_out(&"é".repeat(SMALL)).unwrap().into_raw();
        // SAFETY: made above, each freed once.
        unsafe {
            free_string(after);
            free_string(accented);
        }
        let again = copy_out("7").unwrap().into_raw();
        assert_eq!(again, after, "only the short one was kept");
        // SAFETY: made above, freed once.
        unsafe { free_string(again) };
    }

    #[test]
    fn a_nul_inside_is_refused_and_the_block_not_lost() {
        let kept = copy_out("k").unwrap().into_raw();
        // SAFETY: made above, freed once.
        unsafe { free_string(kept) };
        assert!(copy_out("a\0b").is_err());
        assert!(copy_out(&format!("{}\0", "x".repeat(SMALL))).is_err());
        assert!(owned_string("\0".to_owned()).is_err());
        let next = copy_out("n").unwrap().into_raw();
        assert_eq!(next, kept, "the refused copy gave its block back");
        // SAFETY: made above, freed once.
        unsafe { free_string(next) };
    }

    #[test]
    fn a_string_dropped_before_it_is_handed_over_is_freed() {
        let dropped = copy_out("d").unwrap();
        let address = dropped.0.as_ptr();
        drop(dropped);
        let next = copy_out("e").unwrap().into_raw();
        assert_eq!(next, address, "dropped, its block went back to the thread");
        // SAFETY: made above, freed once.
        unsafe { free_string(next) };
    }

    #[test]
    fn strings_freed_on_other_threads_and_threads_that_end_holding_one() {
        let made: Vec<usize> = (0..100)
            .map(|i| copy_out(&i.to_string()).unwrap().into_raw() as usize)
            .collect();
        std::thread::spawn(move || {
            for (i, ptr) in made.into_iter().enumerate() {
                let ptr = ptr as *mut c_char;
                assert_eq!(text_of(ptr), i.to_string());
                // SAFETY: made above, freed once.
                unsafe { free_string(ptr) };
            }
            // This thread ends with a block kept: its storage frees it (the C programs run
            // under valgrind and LeakSanitizer in CI, which would report it lost).
        })
        .join()
        .unwrap();
    }
}
