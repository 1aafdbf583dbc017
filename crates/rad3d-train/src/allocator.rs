//! Keeping freed tensor buffers in the process between training steps.
//!
//! A training step allocates and frees the same large buffers every time (activations,
//! logits over the vocabulary, their gradients). glibc's allocator serves buffers above
//! its mmap threshold (at most 32 MiB) with fresh mappings and returns freed memory at the
//! top of the heap to the kernel, so each step pays for the kernel zeroing those pages
//! again — a fifth of a CPU training step in profiles of a frozen-LLM V-3 step. Binaries
//! that train (the examples, benches, or a user's own) call [`keep_freed_memory`] once at
//! start; libraries never change process-wide allocator settings on their own.

/// Tells the C allocator to serve every allocation from its heap and never give freed
/// memory back to the kernel, so buffers freed after one step are reused by the next.
///
/// Peak memory is unchanged (the same buffers are live at the peak); resident memory no
/// longer shrinks between steps. Returns whether the settings were applied: `true` on
/// glibc, `false` elsewhere (other allocators already keep memory, or decide for
/// themselves).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only changes allocator parameters; it is safe to call at any
        // time, and these are documented parameters with valid values.
        unsafe {
            let no_mmap = libc::mallopt(libc::M_MMAP_MAX, 0) == 1;
            let no_trim = libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1;
            no_mmap && no_trim
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings apply on glibc, and large allocations still work afterwards.
    #[test]
    fn applies_and_allocations_work() {
        let applied = keep_freed_memory();
        assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
        let big = vec![1u8; 64 << 20];
        assert_eq!(big.iter().map(|&b| b as usize).sum::<usize>(), 64 << 20);
    }
}
