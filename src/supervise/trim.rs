//! Giving back start-up memory once supervision begins: most of liftoff's resident set is
//! code that ran once (parsing, config, the plan). Its read-only text is a private, never
//! written file mapping, so `MADV_DONTNEED` only unmaps it and the pages the loop needs
//! fault back in from the page cache; writable mappings are never touched.

/// Drops the resident pages of liftoff's read-only segments (from its own program headers,
/// so no file is read and RELRO is never among them) and trims the heap. Best effort.
pub fn give_back_startup_memory() {
    for (start, end) in read_only_segments() {
        let (addr, len) = (start as *mut libc::c_void, end - start);
        // SAFETY: the range lies inside a read-only PT_LOAD segment: a private file
        // mapping that nothing writes, re-read from the file on access. MADV_RANDOM keeps
        // those re-reads to the pages used.
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

/// The page-aligned address ranges of the executable's read-only loadable segments.
fn read_only_segments() -> Vec<(usize, usize)> {
    let Some((base, headers)) = executable_headers() else {
        return Vec::new();
    };
    headers
        .iter()
        .filter(|p| p.p_type == libc::PT_LOAD && p.p_flags & libc::PF_W == 0)
        .filter_map(|p| {
            let start = base.checked_add(usize::try_from(p.p_vaddr).ok()?)?;
            page_inward(start, start.checked_add(usize::try_from(p.p_memsz).ok()?)?)
        })
        .collect()
}

/// The executable's load address and program headers: `dl_iterate_phdr`'s first object.
pub fn executable_headers() -> Option<(usize, &'static [libc::Elf64_Phdr])> {
    /// Called once per loaded object, the executable first; keeps it and stops.
    unsafe extern "C" fn first_object(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid info and the `data` given below.
        let (info, found) = unsafe {
            (
                &*info,
                &mut *data.cast::<Option<(usize, &'static [libc::Elf64_Phdr])>>(),
            )
        };
        let headers = match usize::from(info.dlpi_phnum) {
            0 => &[][..],
            // SAFETY: dlpi_phdr points at dlpi_phnum headers, mapped for the process's life.
            n => unsafe { std::slice::from_raw_parts(info.dlpi_phdr, n) },
        };
        *found = usize::try_from(info.dlpi_addr)
            .ok()
            .map(|base| (base, headers));
        1
    }
    let mut found: Option<(usize, &'static [libc::Elf64_Phdr])> = None;
    // SAFETY: the callback only reads the headers and writes `found`, which outlives it.
    unsafe {
        libc::dl_iterate_phdr(Some(first_object), (&raw mut found).cast());
    }
    found
}

/// `[start, end)` shrunk to whole pages, so no neighbouring segment's page is touched.
fn page_inward(start: usize, end: usize) -> Option<(usize, usize)> {
    // madvise needs a page-aligned start; aarch64 kernels may use 16 or 64 KiB pages.
    // SAFETY: sysconf only reads a system constant.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    let start = start.checked_next_multiple_of(page)?;
    let end = end - end % page;
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_shrink_to_whole_pages() {
        // SAFETY: sysconf only reads a system constant.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        assert_eq!(page_inward(page, 3 * page), Some((page, 3 * page)));
        assert_eq!(
            page_inward(page + 1, 3 * page + 5),
            Some((2 * page, 3 * page))
        );
        assert_eq!(page_inward(page + 1, 2 * page - 1), None);
    }

    #[test]
    fn the_executable_has_read_only_segments_and_they_hold_this_code() {
        let segments = read_only_segments();
        assert!(!segments.is_empty());
        let here = read_only_segments as *const () as usize;
        assert!(
            segments.iter().any(|(s, e)| (*s..*e).contains(&here)),
            "{segments:x?} vs {here:x}"
        );
    }
}
