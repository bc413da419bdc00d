//! Giving back start-up memory once supervision begins.
//!
//! An init holds its memory for the container's whole life, and almost all of liftoff's
//! resident set after start-up is its own code that ran once: command-line parsing,
//! configuration layers, TOML, the plan. Like the kernel freeing its `__init` sections,
//! liftoff drops those pages once the child runs: the text segment of its own binary is
//! a private, never-written mapping of the executable, so `MADV_DONTNEED` only unmaps it
//! and the few pages the supervise loop needs fault straight back in from the page
//! cache. Writable or relocated mappings (data, RELRO) are never touched, since dropping
//! them would lose their contents. The heap's free memory goes back with `malloc_trim`.

use std::path::Path;

/// Drops the resident pages of liftoff's own code and constant data, and trims the heap.
/// Best effort: a failure only means the memory stays resident.
pub fn give_back_startup_memory() {
    let (Ok(exe), Ok(smaps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/smaps"),
    ) else {
        return;
    };
    for (start, end) in droppable(&smaps, &exe) {
        let (addr, len) = (start as *mut libc::c_void, end - start);
        // SAFETY: the range is a whole private, read-only mapping of the executable file
        // that holds no anonymous (written) page: MADV_DONTNEED discards nothing but
        // page-table entries, and later accesses re-read the same bytes from the file.
        // MADV_RANDOM then keeps those re-reads to the pages used, instead of the 64 KiB
        // the kernel maps around each fault.
        unsafe {
            libc::madvise(addr, len, libc::MADV_DONTNEED);
            libc::madvise(addr, len, libc::MADV_RANDOM);
        }
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The mappings of `exe` in `/proc/self/smaps` text that can be dropped: private,
/// read-only (`r-xp` code, `r--p` constants), and without anonymous pages (a relocated
/// RELRO page is anonymous: dropping it would undo its relocations).
fn droppable(smaps: &str, exe: &Path) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(range) = mapping(line, exe) {
            current = range;
        } else if let Some(kb) = line.strip_prefix("Anonymous:") {
            let clean = kb.trim().trim_end_matches("kB").trim() == "0";
            if let (Some(range), true) = (current.take(), clean) {
                found.push(range);
            }
        }
    }
    found
}

/// For a mapping's header line: `Some(Some(range))` when it is a private read-only
/// mapping of `exe`, `Some(None)` for any other mapping, `None` for a field line.
fn mapping(line: &str, exe: &Path) -> Option<Option<(usize, usize)>> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    let path = fields.nth(3);
    let ours = matches!(perms, "r-xp" | "r--p") && path.is_some_and(|p| Path::new(p) == exe);
    Some((ours && start < end).then_some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_mappings_of_the_executable_are_dropped() {
        let smaps = "\
55d0a000-55d0b000 r--p 00000000 fd:01 123 /usr/local/bin/liftoff
Rss:                 208 kB
Anonymous:             0 kB
55d0b000-55d2f000 r-xp 00001000 fd:01 123 /usr/local/bin/liftoff
Rss:                1500 kB
Anonymous:             0 kB
55d2f000-55d3a000 r--p 00025000 fd:01 123 /usr/local/bin/liftoff
Rss:                  48 kB
Anonymous:            48 kB
55d3a000-55d3b000 rw-p 00030000 fd:01 123 /usr/local/bin/liftoff
Anonymous:             8 kB
7f00-7f10 r-xp 00000000 fd:01 9 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f10-7f20 rw-p 00000000 00:00 0
Anonymous:             4 kB
";
        let exe = Path::new("/usr/local/bin/liftoff");
        assert_eq!(
            droppable(smaps, exe),
            [(0x55d0a000, 0x55d0b000), (0x55d0b000, 0x55d2f000)]
        );
        assert!(droppable("garbage\nAnonymous: 0 kB\n", exe).is_empty());
    }
}
