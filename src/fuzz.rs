//! A mutation fuzzer on stable Rust, run as ordinary tests (issue 11, section 6): each
//! target is a function over bytes that must never panic or hang, and that checks its own
//! invariants (one line per problem, no secret in a message, round trips).
//!
//! A target starts from its checked-in corpus (`tests/fuzz/corpus/<target>/`, one input a
//! file) and the inputs that failed before (`target/fuzz-failures/<target>/`), then
//! mutates them until its time budget is spent. An input whose outcome has a feature the
//! target has not seen before (a message it had not printed, a value of a new size) joins
//! the pool that mutations start from: a poor fuzzer's coverage feedback, with no
//! instrumentation and no crate.
//!
//! `LIFTOFF_FUZZ_SECS` is each target's budget (default [`DEFAULT_SECS`], for CI);
//! `LIFTOFF_FUZZ_SEED` the seed (default [`DEFAULT_SEED`], so CI is reproducible; `make
//! fuzz` passes the time). A failure saves its input, names the seed, and prints the
//! input's bytes escaped; the saved input runs before any mutation the next time. An
//! execution that takes longer than [`HANG`] fails too.

mod cgroup;
mod envfile;
mod mutate;
mod plan;
mod values;

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mutate::Rng;

/// Each target's time budget when `LIFTOFF_FUZZ_SECS` is unset: four targets run about
/// 80 s of test time in all, half that on two cores.
const DEFAULT_SECS: f64 = 20.0;

/// The seed when `LIFTOFF_FUZZ_SEED` is unset: fixed, so that CI runs the same inputs
/// every time (as many as its budget allows).
const DEFAULT_SEED: u64 = 0x1551_0011;

/// One execution longer than this is a hang. The slowest inputs take about 2.5 s in the
/// debug build (clap's "did you mean" over a flag of 70,000 characters), and tests share
/// two cores in CI; a tenth of that in release.
const HANG: Duration = Duration::from_secs(if cfg!(debug_assertions) { 12 } else { 3 });

/// At most this many inputs in the pool mutations start from.
const MAX_POOL: usize = 4096;

/// The longest input that joins the pool: mutations of long inputs are slow, and long
/// runs are made anew by mutation anyway.
const MAX_KEPT: usize = 8 * 1024;

/// One fuzz target.
pub struct Target {
    /// Its name: the corpus folder, the failures folder, the test.
    pub name: &'static str,
    /// Tokens worth inserting for this target, besides the shared ones.
    pub tokens: &'static [&'static [u8]],
    /// Runs one input, panicking when an invariant breaks; returns the features of the
    /// outcome (see [`feature`]), or `None` when the input is not one the target runs
    /// (filtered out).
    pub run: fn(&[u8]) -> Option<Vec<u64>>,
}

/// The scratch directory of target `name` in this process: in memory (`/dev/shm`) where
/// there is one, since some targets write files for every input. Removed after the run.
pub fn scratch(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("liftoff-fuzz-{}-{name}", std::process::id()))
}

/// What a message says without what it repeats of the input, for features: its last four
/// words (where messages say what is wrong and what to do), less quoted words and digits.
/// An input that only changes the text a message repeats is nothing new.
pub fn shape(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let last = words[words.len().saturating_sub(4)..]
        .iter()
        .filter(|w| !w.contains(['`', '"', '\'']))
        .map(|w| w.chars().filter(|c| !c.is_ascii_digit()).take(24));
    last.map(String::from_iter).collect::<Vec<_>>().join(" ")
}

/// A feature (or any hash) from anything hashable, with a fixed hasher, so that runs are
/// reproducible.
pub fn feature(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// What a run did.
#[derive(Debug, Default)]
struct Stats {
    /// Inputs run.
    execs: u64,
    /// Inputs the target filtered out.
    skipped: u64,
    /// Inputs in the pool at the end.
    pool: usize,
    /// The longest one execution took.
    slowest: Duration,
}

/// An input that broke an invariant (or hung), and why.
struct Failure {
    /// The input.
    input: Vec<u8>,
    /// The panic message, or the hang.
    message: String,
    /// Which execution it was (1-based).
    exec: u64,
}

/// What the worker shares with the watchdog: the input running, since when, and how many
/// have run.
#[derive(Default)]
struct Current {
    /// The input and when it started.
    running: Mutex<Option<(Vec<u8>, Instant)>>,
    /// Executions started.
    execs: AtomicU64,
}

/// Fuzzes `target` for its budget; panics with the seed and the input on a failure.
pub fn fuzz(target: &'static Target) {
    let seed = seed();
    let budget = Duration::from_secs_f64(budget());
    let corpus = corpus(target.name);
    assert!(
        !corpus.is_empty(),
        "no corpus for fuzz target {}",
        target.name
    );
    let current = Arc::new(Current::default());
    let (done, outcome) = mpsc::channel();
    let shared = Arc::clone(&current);
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = done.send(work(target, corpus, seed, start + budget, &shared));
    });
    let result = watch(&outcome, &current);
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(scratch(target.name));
    match result {
        Ok(stats) => println!(
            "fuzz {}: {} executions in {secs:.1}s ({:.0}/s, slowest {:.2}s), {} skipped, pool {}, seed {seed}",
            target.name,
            stats.execs,
            stats.execs as f64 / secs,
            stats.slowest.as_secs_f64(),
            stats.skipped,
            stats.pool,
        ),
        Err(failure) => report(target, seed, &failure),
    }
}

/// Waits for the worker; a single execution past [`HANG`] is a failure (the worker is
/// left behind, and the test process ends it when the tests are done).
fn watch(
    outcome: &mpsc::Receiver<Result<Stats, Failure>>,
    current: &Current,
) -> Result<Stats, Failure> {
    loop {
        match outcome.recv_timeout(Duration::from_millis(500)) {
            Ok(result) => return result,
            Err(RecvTimeoutError::Disconnected) => {
                let input = take_running(current);
                return Err(Failure {
                    input,
                    message: "the fuzz worker died".into(),
                    exec: current.execs.load(Ordering::Relaxed),
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let running = current.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((input, started)) = running.as_ref()
            && started.elapsed() > HANG
        {
            return Err(Failure {
                input: input.clone(),
                message: format!(
                    "one execution ran for more than {}s (a hang)",
                    HANG.as_secs()
                ),
                exec: current.execs.load(Ordering::Relaxed),
            });
        }
    }
}

/// The input running now, if any.
fn take_running(current: &Current) -> Vec<u8> {
    let running = current.running.lock().unwrap_or_else(|e| e.into_inner());
    running
        .as_ref()
        .map(|(input, _)| input.clone())
        .unwrap_or_default()
}

/// Runs the corpus, then mutations until `deadline`.
fn work(
    target: &Target,
    corpus: Vec<Vec<u8>>,
    seed: u64,
    deadline: Instant,
    current: &Current,
) -> Result<Stats, Failure> {
    let mut rng = Rng::new(seed ^ feature(target.name));
    let mut stats = Stats::default();
    let mut seen = HashSet::new();
    let mut pool = corpus.clone();
    let run = |input: &[u8], stats: &mut Stats| -> Result<Option<Vec<u64>>, Failure> {
        stats.execs += 1;
        let started = Instant::now();
        let outcome = exec(target, input, current);
        stats.slowest = stats.slowest.max(started.elapsed());
        stats.skipped += u64::from(matches!(outcome, Ok(None)));
        outcome
    };
    for input in &corpus {
        seen.extend(run(input, &mut stats)?.unwrap_or_default());
    }
    while Instant::now() < deadline {
        let input = mutate::mutate(&mut rng, &pool, corpus.len(), target.tokens);
        let features = run(&input, &mut stats)?.unwrap_or_default();
        // Every feature goes into `seen`: no short cut after the first new one.
        let new = features.into_iter().filter(|f| seen.insert(*f)).count() > 0;
        if new && pool.len() < MAX_POOL && input.len() <= MAX_KEPT {
            pool.push(input);
        }
    }
    stats.pool = pool.len();
    Ok(stats)
}

/// Runs one input, catching a panic as a failure.
fn exec(target: &Target, input: &[u8], current: &Current) -> Result<Option<Vec<u64>>, Failure> {
    let exec = current.execs.fetch_add(1, Ordering::Relaxed) + 1;
    *current.running.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((input.to_vec(), Instant::now()));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (target.run)(input)));
    *current.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    outcome.map_err(|payload| Failure {
        input: input.to_vec(),
        message: payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into()),
        exec,
    })
}

/// Saves the failing input and panics with what reproduces it.
fn report(target: &Target, seed: u64, failure: &Failure) -> ! {
    let dir = failures_dir(target.name);
    let path = dir.join(format!("{:016x}", feature(&failure.input)));
    let saved = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &failure.input))
        .map_or_else(
            |e| format!("not saved: {e}"),
            |()| format!("saved to {}", path.display()),
        );
    /// The most escaped characters of the input the message shows.
    const SHOWN: usize = 4000;
    let escaped = failure.input.escape_ascii().to_string();
    let cut = if escaped.len() > SHOWN { "..." } else { "" };
    panic!(
        "fuzz target `{}` failed at execution {} (seed {seed}): {}\ninput ({} bytes, {saved}): b\"{}{cut}\"\n\
         reproduce: cargo test --bin liftoff fuzz::fuzz_{} (saved inputs run before any mutation), or LIFTOFF_FUZZ_SEED={seed}",
        target.name,
        failure.exec,
        failure.message,
        failure.input.len(),
        &escaped[..escaped.len().min(SHOWN)],
        target.name,
    )
}

/// The checked-in corpus of `name`, then the inputs that failed before, each sorted by
/// file name.
fn corpus(name: &str) -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("tests/fuzz/corpus").join(name),
        failures_dir(name),
    ];
    let mut inputs = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        inputs.extend(files.iter().filter_map(|f| std::fs::read(f).ok()));
    }
    inputs
}

/// Where failing inputs of `name` are saved.
fn failures_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/fuzz-failures")
        .join(name)
}

/// `LIFTOFF_FUZZ_SECS`, else [`DEFAULT_SECS`].
fn budget() -> f64 {
    std::env::var("LIFTOFF_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(DEFAULT_SECS)
}

/// `LIFTOFF_FUZZ_SEED`, else [`DEFAULT_SEED`].
fn seed() -> u64 {
    std::env::var("LIFTOFF_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// A config file, environment and command line through `plan`, `config` and `check`.
#[test]
fn fuzz_plan() {
    fuzz(&plan::TARGET);
}

/// The env-file parser.
#[test]
fn fuzz_envfile() {
    fuzz(&envfile::TARGET);
}

/// The signal, rewrite, duration, size and probe URL parsers.
#[test]
fn fuzz_values() {
    fuzz(&values::TARGET);
}

/// The cgroup file parsers, and limit detection over a fake root.
#[test]
fn fuzz_cgroup() {
    fuzz(&cgroup::TARGET);
}
