//! BPF global variables read from user space while the programs run.
//!
//! A BPF object's `.bss` is memory-mapped: user space sees the programs'
//! global counters live. Programs add to them concurrently, so they may be
//! read only with atomic operations, never through a Rust reference (which
//! would promise nobody else writes). [`Counters`] holds the mapping that
//! way and hands out plain snapshots; this is the only `unsafe` the tools
//! that keep counters in globals need (softirqs, as libbpf-tools does).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, ensure};

/// A `.bss` made of `u64` counters only (`T` is the skeleton's `bss` type).
pub struct Counters<'a, T> {
    base: *mut u64,
    words: usize,
    _mapping: PhantomData<&'a mut T>,
}

impl<'a, T: plain::Plain> Counters<'a, T> {
    /// Takes the skeleton's `.bss` (`skel.maps.bss_data.as_deref_mut()`);
    /// fails when the kernel did not map it, or when `T` is not a whole
    /// number of aligned `u64`s.
    pub fn new(bss: Option<&'a mut T>) -> Result<Self> {
        let bss = bss.context("the BPF .bss is not memory-mapped (needs Linux 5.7 or later)")?;
        let base = (bss as *mut T).cast::<u64>();
        let size = std::mem::size_of::<T>();
        ensure!(
            size.is_multiple_of(8) && base.align_offset(std::mem::align_of::<u64>()) == 0,
            "the BPF .bss is not made of u64 counters"
        );
        Ok(Counters {
            base,
            words: size / 8,
            _mapping: PhantomData,
        })
    }

    /// Every counter's value, each set back to zero in the same atomic step
    /// (nothing counted between the read and the reset is lost).
    pub fn take(&self) -> T {
        let mut bytes = Vec::with_capacity(self.words * 8);
        for i in 0..self.words {
            // SAFETY: `base` points to the live mapping `new` borrowed for
            // 'a, holding `words` 8-byte aligned u64s (checked there); the
            // BPF side and this are its only users, both atomic.
            let word = unsafe { AtomicU64::from_ptr(self.base.add(i)) };
            bytes.extend_from_slice(&word.swap(0, Ordering::Relaxed).to_ne_bytes());
        }
        // SAFETY: T is Plain: any bytes, zeros included, are a valid T.
        let mut snapshot: T = unsafe { std::mem::zeroed() };
        // Same size, and T is Plain: cannot fail.
        let _ = plain::copy_from_bytes(&mut snapshot, &bytes);
        snapshot
    }
}

// SAFETY: softirqs' .bss is `__u64` arrays only (src/bpf/softirqs.bpf.c):
// any bytes are a valid value.
unsafe impl plain::Plain for crate::skel::softirqs::types::bss {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, PartialEq, Clone, Copy)]
    #[repr(C)]
    struct Bss {
        counts: [u64; 3],
        total: u64,
    }
    // SAFETY: u64s only, any bit pattern is valid.
    unsafe impl plain::Plain for Bss {}

    #[test]
    fn take_reads_and_zeroes_every_counter() {
        let mut bss = Bss {
            counts: [1, 2, 3],
            total: u64::MAX,
        };
        let counters = Counters::new(Some(&mut bss)).unwrap();
        assert_eq!(
            counters.take(),
            Bss {
                counts: [1, 2, 3],
                total: u64::MAX
            }
        );
        assert_eq!(counters.take(), Bss::default());
        let _ = counters;
        assert_eq!(bss, Bss::default());
    }

    #[test]
    fn a_missing_or_odd_bss_is_an_error() {
        assert!(Counters::<Bss>::new(None).is_err());
        #[derive(Default)]
        #[repr(C)]
        struct Odd([u32; 3]);
        // SAFETY: u32s only.
        unsafe impl plain::Plain for Odd {}
        let err = Counters::new(Some(&mut Odd::default())).err().unwrap();
        assert!(err.to_string().contains("u64"), "{err}");
    }
}
