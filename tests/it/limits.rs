//! Workers that fit the container: `liftoff plan` run inside a real cgroup v1 cpu cgroup
//! with a CFS quota reports the CPUs the quota allows (rounded up) and the workers that
//! follow from them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

/// Where cgroup v1 mounts the cpu controller on this kind of machine (MACHINE-NOTES.md).
const CPU_V1: &str = "/sys/fs/cgroup/cpu";

/// A cpu cgroup made for one test, removed when dropped so a failing test leaves none.
struct CpuCgroup {
    /// The cgroup's directory under [`CPU_V1`].
    dir: PathBuf,
}

impl CpuCgroup {
    /// Creates `liftoff-test-<pid>-<tag>` with `quota_us` of CPU time per 100 ms.
    fn create(tag: &str, quota_us: u64) -> CpuCgroup {
        let dir = Path::new(CPU_V1).join(format!("liftoff-test-{}-{tag}", std::process::id()));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|err| panic!("failed to create {}: {err}", dir.display()));
        // The guard exists before the writes, so a failed write still removes the cgroup.
        let cgroup = CpuCgroup { dir };
        cgroup.write("cpu.cfs_period_us", 100_000);
        cgroup.write("cpu.cfs_quota_us", quota_us);
        cgroup
    }

    /// Writes `value` to the cgroup's file `name`.
    fn write(&self, name: &str, value: u64) {
        let file = self.dir.join(name);
        std::fs::write(&file, value.to_string())
            .unwrap_or_else(|err| panic!("failed to write {value} to {}: {err}", file.display()));
    }
}

impl Drop for CpuCgroup {
    /// Removes the cgroup; its only process (liftoff) has exited and been reaped by then.
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir(&self.dir) {
            eprintln!("failed to remove cgroup {}: {err}", self.dir.display());
        }
    }
}

/// Whether this test can make a cgroup v1 cpu cgroup; when it cannot, says why and
/// returns false, or panics under `REQUIRE_PRIVILEGED_TESTS=1`.
fn cpu_cgroup_or_skip(test: &str) -> bool {
    if !support::privileged_or_skip(test) {
        return false;
    }
    if Path::new(CPU_V1).join("cpu.cfs_quota_us").exists() {
        return true;
    }
    let why = format!("{test}: needs the cgroup v1 cpu controller at {CPU_V1}");
    assert!(
        !support::require_privileged(),
        "REQUIRE_PRIVILEGED_TESTS=1 but {why}"
    );
    eprintln!("skipped: {why}");
    false
}

/// Runs `liftoff --config <dir>/liftoff.toml plan --format json prod` as a process that
/// first moves itself into `cgroup`, and returns the parsed plan.
fn plan_in(cgroup: &CpuCgroup, tag: &str) -> serde_json::Value {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("limits-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("liftoff.toml");
    std::fs::write(&config, "[prod]\napp = \"app:create_app()\"\n").unwrap();

    // The shell moves itself into the cgroup, then becomes liftoff; the paths reach it as
    // arguments, never inside the script.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"echo "$$" > "$1" || exit 125; shift; exec "$@""#)
        .arg("sh")
        .arg(cgroup.dir.join("cgroup.procs"))
        .arg(support::liftoff_bin())
        .arg("--config")
        .arg(&config)
        .args(["plan", "--format", "json", "prod"]);
    // The same clean environment as `support::liftoff()`, plus the venv for gunicorn.
    for (key, value) in support::liftoff().get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd
        .env("PATH", support::path_with_venv())
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "liftoff plan failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("plan is not JSON ({err}):\n{stdout}\n{stderr}"))
}

/// Checks the CPUs and workers a plan reports, and the variables the server gets.
fn assert_sized(plan: &serde_json::Value, cpus: u64, workers: u64) {
    assert_eq!(plan["cpus"], cpus, "cpus in {plan:#}");
    assert_eq!(plan["workers"], workers, "workers in {plan:#}");
    assert_eq!(
        plan["env"]["WEB_CONCURRENCY"],
        workers.to_string(),
        "env in {plan:#}"
    );
    assert_eq!(
        plan["env"]["PYTHON_CPU_COUNT"],
        cpus.to_string(),
        "env in {plan:#}"
    );
}

/// CPUs this test process may run on.
fn affinity() -> u64 {
    use nix::sched::{CpuSet, sched_getaffinity};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap())
        .count() as u64
}

#[test]
fn half_a_cpu_quota_gives_one_cpu_and_three_workers() {
    if !cpu_cgroup_or_skip("half_a_cpu_quota_gives_one_cpu_and_three_workers") {
        return;
    }
    let cgroup = CpuCgroup::create("half", 50_000);
    assert_sized(&plan_in(&cgroup, "half"), 1, 3);
}

#[test]
fn one_and_a_half_cpu_quota_rounds_up_to_two_cpus_and_five_workers() {
    if !cpu_cgroup_or_skip("one_and_a_half_cpu_quota_rounds_up_to_two_cpus_and_five_workers") {
        return;
    }
    // 1.5 CPUs round up to 2 where the machine has them (it has 2: MACHINE-NOTES.md).
    let cpus = affinity().min(2);
    let cgroup = CpuCgroup::create("one-and-half", 150_000);
    assert_sized(&plan_in(&cgroup, "one-and-half"), cpus, 2 * cpus + 1);
}
