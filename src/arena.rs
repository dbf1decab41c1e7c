//! The binary's allocator: small allocations come from a fixed arena and are
//! never freed; the rest, and everything once the arena is full, from the
//! system allocator.
//!
//! A run lives a few milliseconds and allocates a few hundred KiB at most, so
//! freeing is wasted work, and musl's allocator (the static Linux release)
//! maps and unmaps a page for nearly every small group it frees: about 60
//! mmap/munmap calls in a `setup`, each a system call and a page fault. The
//! arena is in `.bss`: only the pages touched cost memory. Nothing in it is
//! reused, so nothing a `Secret` wiped is handed out again either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Room for every allocation of a `setup`, `cleanup` or `check` run.
const ARENA_BYTES: usize = 1024 * 1024;
/// Larger blocks (a body being read, a file) go to the system allocator,
/// which gives their memory back.
const LARGEST: usize = 64 * 1024;

#[repr(C, align(4096))]
struct Space(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: bytes of the space are handed out at most once (`next` only grows,
// by compare-and-swap), so no two users share any.
unsafe impl Sync for Space {}

pub struct Arena {
    space: Space,
    /// Offset of the first free byte.
    next: AtomicUsize,
}

impl Arena {
    pub const fn new() -> Self {
        Arena {
            space: Space(UnsafeCell::new([0; ARENA_BYTES])),
            next: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.space.0.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let at = ptr as usize;
        at >= self.base() && at < self.base() + ARENA_BYTES
    }

    /// Take `layout` from the arena, or `None` when it does not fit.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        if layout.size() > LARGEST {
            return None;
        }
        let base = self.base();
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            // `align` is a power of two; the space is page-aligned.
            let start = (base + next).checked_add(layout.align() - 1)? & !(layout.align() - 1);
            let end = start.checked_add(layout.size().max(1))? - base;
            if end > ARENA_BYTES {
                return None;
            }
            match self
                .next
                .compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(start as *mut u8),
                Err(now) => next = now,
            }
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks from `bump` are disjoint, inside the space, aligned as asked
// and never handed out twice; everything else is the system allocator's.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => ptr,
            // SAFETY: the caller's layout has a non-zero size.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            // SAFETY: not ours, so the system allocator's, with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            // SAFETY: the system allocator's block, as the caller promises.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (the
        // caller guarantees it does not overflow when rounded).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and distinct.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_disjoint_and_fall_back_when_full() {
        // A static, as the binary's: a megabyte is too much for a test's stack.
        static ARENA: Arena = Arena::new();
        let arena = &ARENA;
        let small = Layout::from_size_align(24, 8).unwrap();
        let wide = Layout::from_size_align(64, 64).unwrap();
        unsafe {
            let a = arena.alloc(small);
            let b = arena.alloc(wide);
            assert!(arena.owns(a) && arena.owns(b));
            assert_eq!(b as usize % 64, 0);
            assert!(b as usize >= a as usize + 24);
            a.write_bytes(1, 24);
            let grown = arena.realloc(a, small, 100);
            assert_eq!(std::slice::from_raw_parts(grown, 24), &[1u8; 24]);
            let big = Layout::from_size_align(LARGEST + 1, 8).unwrap();
            let c = arena.alloc(big);
            assert!(!c.is_null() && !arena.owns(c));
            arena.dealloc(c, big);
            // Fill it: the next block comes from the system.
            let chunk = Layout::from_size_align(LARGEST, 8).unwrap();
            while arena.bump(chunk).is_some() {}
            let d = arena.alloc(chunk);
            assert!(!d.is_null() && !arena.owns(d));
            arena.dealloc(d, chunk);
        }
    }
}
