//! Worker sizing: how many gunicorn workers fit the container.
//!
//! `workers = "auto"` is `clamp(cpus × workers_per_core + 1, min_workers, max_workers)`,
//! then at most `memory / worker_memory` when both are known. The result carries one line
//! saying how it was reached, for `plan` and the start log. Byte sizes for `worker_memory`
//! are parsed here too.

use super::cgroup::Limits;

/// The settings that shape `workers = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    /// Workers per CPU (gunicorn's advice is 2 per core, plus 1).
    pub workers_per_core: u32,
    /// Never fewer workers than this from the CPU formula (the memory cap may go lower).
    pub min_workers: u32,
    /// Never more workers than this; gunicorn advises 4–12 workers for a whole machine.
    pub max_workers: u32,
    /// Memory one worker needs, in bytes; with a memory limit it caps the count.
    pub worker_memory: Option<u64>,
}

/// A computed worker count, the CPU count it was computed from, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workers {
    /// Number of workers to run (at least 1).
    pub count: u32,
    /// CPUs the container has (`Limits::cpus`), also exported as `PYTHON_CPU_COUNT`.
    pub cpus: u32,
    /// One human line with the inputs and each step, e.g.
    /// `auto: 1 cpu (affinity 2, quota 0.5) x 2 + 1 = 3, within [1, 12]`.
    pub why: String,
}

/// Computes `workers = "auto"` for a container with `limits`.
///
/// When `min_workers > max_workers` (which configuration should reject), `max_workers` wins.
pub fn auto(limits: &Limits, sizing: &Sizing) -> Workers {
    let cpus = limits.cpus();
    let Sizing {
        workers_per_core: per_core,
        min_workers: min,
        max_workers: max,
        ..
    } = *sizing;
    // In 64 bits the product is exact for any u32 inputs, so what is printed is true.
    let formula = u64::from(cpus) * u64::from(per_core) + 1;
    let cpu_word = if cpus == 1 { "cpu" } else { "cpus" };
    let mut why = format!(
        "auto: {cpus} {cpu_word} ({}) x {per_core} + 1 = {formula}",
        cpu_inputs(limits)
    );
    let mut count =
        u32::try_from(formula.max(u64::from(min)).min(u64::from(max)).max(1)).unwrap_or(max);
    if u64::from(count) > formula {
        why += &format!(", raised to {count} by min_workers {min}");
    } else if u64::from(count) < formula {
        why += &format!(", capped to {count} by max_workers {max}");
    } else {
        why += &format!(", within [{min}, {max}]");
    }
    if let (Some(memory), Some(per_worker)) =
        (limits.memory, sizing.worker_memory.filter(|&m| m > 0))
    {
        let fit = u32::try_from(memory / per_worker)
            .unwrap_or(u32::MAX)
            .max(1);
        if fit < count {
            count = fit;
            let (memory, per_worker) = (format_bytes(memory), format_bytes(per_worker));
            why += &format!(", capped to {fit} by memory {memory} / worker_memory {per_worker}");
        }
    }
    Workers { count, cpus, why }
}

/// The inputs of the CPU count: "affinity 2, quota 0.5" or "affinity 2, no quota".
fn cpu_inputs(limits: &Limits) -> String {
    match &limits.quota {
        Some(quota) => format!("affinity {}, quota {}", limits.affinity, quota.cpus_text()),
        None => format!("affinity {}, no quota", limits.affinity),
    }
}

/// Parses a byte size: a number of bytes, or a number (decimals allowed) with a unit.
///
/// Units are K, M, G and T, with an optional `B` or `iB`, in any case, and all of them are
/// powers of 1024 (`512M` = `512MiB` = 536870912), as in Docker's `--memory`. Zero is
/// rejected: no setting of liftoff means anything by a size of nothing.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let invalid = |why: &str| {
        format!(
            "invalid size {s:?}: {why}; expected a number of bytes or a number with a unit \
             K, M, G or T (powers of 1024, optional B or iB, any case), e.g. 536870912, \
             512MiB, 512M, 1.5G"
        )
    };
    let text = s.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(fraction) {
        return Err(invalid("not a number"));
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "ki" | "kib" => 10,
        "m" | "mb" | "mi" | "mib" => 20,
        "g" | "gb" | "gi" | "gib" => 30,
        "t" | "tb" | "ti" | "tib" => 40,
        _ => return Err(invalid(&format!("unknown unit {:?}", unit.trim()))),
    };
    if shift == 0 && fraction.bytes().any(|b| b != b'0') {
        return Err(invalid("bytes must be a whole number"));
    }
    // Digits past the 18th of a fraction are below a byte even in TiB, so they are dropped.
    let fraction = &fraction[..fraction.len().min(18)];
    let value = |d: &str| {
        if d.is_empty() {
            Some(0)
        } else {
            d.parse::<u128>().ok()
        }
    };
    let scale = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(18));
    let whole_bytes = value(whole).and_then(|w| w.checked_mul(1 << shift));
    let fraction_bytes = value(fraction).map_or(0, |f| (f << shift) / scale);
    match whole_bytes.map(|w| u64::try_from(w + fraction_bytes)) {
        Some(Ok(0)) => Err(invalid("it must be more than 0")),
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(_)) | None => Err(invalid("too large")),
    }
}

/// Prints a byte count in the largest binary unit that divides it ("512 MiB", "1 GiB"),
/// or in bytes when none does.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    for (shift, unit) in UNITS {
        if bytes != 0 && bytes.trailing_zeros() >= shift {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Default for Sizing {
        /// The documented defaults: 2 per core, between 1 and 12, no per-worker memory.
        fn default() -> Self {
            Sizing {
                workers_per_core: 2,
                min_workers: 1,
                max_workers: 12,
                worker_memory: None,
            }
        }
    }
    use crate::plan::cgroup::Quota;

    const MIB: u64 = 1 << 20;

    /// Limits with `affinity` CPUs, an optional quota in CPUs (period 100 ms) and memory.
    fn limits(affinity: usize, quota_cpus: Option<f64>, memory: Option<u64>) -> Limits {
        let quota = quota_cpus.map(|c| Quota {
            quota_us: (c * 100_000.0) as u64,
            period_us: 100_000,
        });
        Limits {
            affinity,
            quota,
            memory,
            notes: vec![],
        }
    }

    /// Sizing with the defaults except the given bounds and per-worker memory.
    fn sizing(min: u32, max: u32, worker_memory: Option<u64>) -> Sizing {
        Sizing {
            min_workers: min,
            max_workers: max,
            worker_memory,
            ..Sizing::default()
        }
    }

    #[test]
    fn auto_table() {
        // (limits, sizing, count, cpus, why)
        let cases: &[(Limits, Sizing, u32, u32, &str)] = &[
            (
                limits(2, Some(0.5), None),
                Sizing::default(),
                3,
                1,
                "auto: 1 cpu (affinity 2, quota 0.5) x 2 + 1 = 3, within [1, 12]",
            ),
            (
                limits(1, None, None),
                Sizing::default(),
                3,
                1,
                "auto: 1 cpu (affinity 1, no quota) x 2 + 1 = 3, within [1, 12]",
            ),
            (
                limits(2, None, None),
                Sizing::default(),
                5,
                2,
                "auto: 2 cpus (affinity 2, no quota) x 2 + 1 = 5, within [1, 12]",
            ),
            (
                limits(2, Some(1.5), None),
                Sizing::default(),
                5,
                2,
                "auto: 2 cpus (affinity 2, quota 1.5) x 2 + 1 = 5, within [1, 12]",
            ),
            (
                limits(64, None, None),
                Sizing::default(),
                12,
                64,
                "auto: 64 cpus (affinity 64, no quota) x 2 + 1 = 129, capped to 12 by max_workers 12",
            ),
            (
                limits(1, None, None),
                sizing(4, 12, None),
                4,
                1,
                "auto: 1 cpu (affinity 1, no quota) x 2 + 1 = 3, raised to 4 by min_workers 4",
            ),
            (
                limits(4, Some(2.0), Some(512 * MIB)),
                sizing(1, 12, Some(256 * MIB)),
                2,
                2,
                "auto: 2 cpus (affinity 4, quota 2) x 2 + 1 = 5, within [1, 12], \
                 capped to 2 by memory 512 MiB / worker_memory 256 MiB",
            ),
            (
                limits(4, None, Some(100 * MIB)),
                sizing(2, 12, Some(256 * MIB)),
                1,
                4,
                "auto: 4 cpus (affinity 4, no quota) x 2 + 1 = 9, within [2, 12], \
                 capped to 1 by memory 100 MiB / worker_memory 256 MiB",
            ),
            (
                limits(2, None, Some(4096 * MIB)),
                sizing(1, 12, Some(256 * MIB)),
                5,
                2,
                "auto: 2 cpus (affinity 2, no quota) x 2 + 1 = 5, within [1, 12]",
            ),
            (
                limits(2, None, None),
                sizing(1, 12, Some(256 * MIB)),
                5,
                2,
                "auto: 2 cpus (affinity 2, no quota) x 2 + 1 = 5, within [1, 12]",
            ),
            (
                limits(2, None, Some(MIB)),
                sizing(1, 12, Some(0)),
                5,
                2,
                "auto: 2 cpus (affinity 2, no quota) x 2 + 1 = 5, within [1, 12]",
            ),
            (
                limits(2, None, None),
                sizing(8, 3, None),
                3,
                2,
                "auto: 2 cpus (affinity 2, no quota) x 2 + 1 = 5, capped to 3 by max_workers 3",
            ),
        ];
        for (limits, sizing, count, cpus, why) in cases {
            let workers = auto(limits, sizing);
            assert_eq!(
                workers,
                Workers {
                    count: *count,
                    cpus: *cpus,
                    why: why.to_string()
                },
                "{limits:?} {sizing:?}"
            );
        }
    }

    #[test]
    fn auto_uses_workers_per_core_and_never_gives_zero() {
        let three_per_core = Sizing {
            workers_per_core: 3,
            ..Sizing::default()
        };
        assert_eq!(auto(&limits(2, None, None), &three_per_core).count, 7);
        let zero = Sizing {
            workers_per_core: 0,
            min_workers: 0,
            max_workers: 0,
            worker_memory: None,
        };
        assert_eq!(auto(&limits(2, None, None), &zero).count, 1);
        let huge = Sizing {
            workers_per_core: u32::MAX,
            max_workers: u32::MAX,
            ..Sizing::default()
        };
        let workers = auto(&limits(4, None, None), &huge);
        assert_eq!(workers.count, u32::MAX);
        // The product is said exactly, not saturated as if it were the count.
        assert!(
            workers
                .why
                .contains("x 4294967295 + 1 = 17179869181, capped to 4294967295"),
            "{}",
            workers.why
        );
    }

    #[test]
    fn parse_bytes_table() {
        let ok: &[(&str, u64)] = &[
            ("536870912", 536_870_912),
            ("1", 1),
            ("512MiB", 512 * MIB),
            ("512M", 512 * MIB),
            ("512 MB", 512 * MIB),
            ("256mb", 256 * MIB),
            ("256Mi", 256 * MIB),
            ("1GiB", 1024 * MIB),
            ("1G", 1024 * MIB),
            ("1.5G", 1536 * MIB),
            ("0.5gib", 512 * MIB),
            (".5G", 512 * MIB),
            ("64k", 64 * 1024),
            ("64KB", 64 * 1024),
            ("2T", 2 << 40),
            ("100B", 100),
            ("100.0", 100),
            (" 1g ", 1024 * MIB),
            ("0.25T", 256 * 1024 * MIB),
            ("1.000000000000000000001K", 1024),
        ];
        for (text, want) in ok {
            assert_eq!(parse_bytes(text), Ok(*want), "{text:?}");
        }
        let err: &[(&str, &str)] = &[
            ("", "not a number"),
            ("M", "not a number"),
            ("abc", "not a number"),
            ("lots", "not a number"),
            ("-5M", "not a number"),
            ("1.2.3G", "not a number"),
            ("12 parsecs", "unknown unit \"parsecs\""),
            ("1.5", "bytes must be a whole number"),
            ("1.5B", "bytes must be a whole number"),
            ("0", "it must be more than 0"),
            ("0.0000001K", "it must be more than 0"),
            ("99999999999999999T", "too large"),
            ("18446744073709551616", "too large"),
            ("1234567890123456789012", "too large"),
            ("123456789012345678901234567890123456789012", "too large"),
        ];
        for (text, why) in err {
            let got = parse_bytes(text).expect_err(text);
            assert!(
                got.starts_with(&format!("invalid size {text:?}: {why}; expected")),
                "{text:?}: {got}"
            );
        }
    }

    #[test]
    fn parse_bytes_error_says_what_is_accepted() {
        assert_eq!(
            parse_bytes("lots").unwrap_err(),
            "invalid size \"lots\": not a number; expected a number of bytes or a number with a unit \
             K, M, G or T (powers of 1024, optional B or iB, any case), e.g. 536870912, 512MiB, 512M, 1.5G"
        );
    }

    #[test]
    fn format_bytes_table() {
        let cases: &[(u64, &str)] = &[
            (0, "0 bytes"),
            (1000, "1000 bytes"),
            (1024, "1 KiB"),
            (512 * MIB, "512 MiB"),
            (1536 * MIB, "1536 MiB"),
            (1 << 30, "1 GiB"),
            (3 << 40, "3 TiB"),
            (536_870_913, "536870913 bytes"),
        ];
        for (bytes, want) in cases {
            assert_eq!(format_bytes(*bytes), *want, "{bytes}");
        }
    }
}
