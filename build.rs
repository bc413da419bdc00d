//! Build script: records what `liftoff --version` says besides the version, the target
//! triple and whether the C runtime is linked in statically, so a binary found in an image
//! or a wheel tells which build it is.

use std::env;
use std::process::Command;

/// Exports `BUILD_TARGET`, e.g. `x86_64-unknown-linux-musl, static`.
fn main() {
    let target = env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let linkage = if crt_static(&target) {
        "static"
    } else {
        "dynamic"
    };
    println!("cargo:rustc-env=BUILD_TARGET={target}, {linkage}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// Whether the target links the C runtime statically.
///
/// Cargo (1.95) leaves `crt-static` out of `CARGO_CFG_TARGET_FEATURE` when it is the
/// target's default, as it is for the musl targets, so a static musl build would call
/// itself dynamic. rustc itself knows: ask it for the target's cfg with the same flags.
fn crt_static(target: &str) -> bool {
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if features.split(',').any(|f| f == "crt-static") {
        return true;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let output = Command::new(rustc)
        .args(["--print", "cfg", "--target", target])
        .args(flags.split('\x1f').filter(|flag| !flag.is_empty()))
        .output();
    match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|line| line == "target_feature=\"crt-static\""),
        _ => false,
    }
}
