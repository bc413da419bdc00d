//! Build script: records what `liftoff --version` says besides the version, the target
//! triple and whether the C runtime is linked in statically, so a binary found in an image
//! or a wheel tells which build it is.

/// Exports `BUILD_TARGET`, e.g. `x86_64-unknown-linux-musl, static`.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let linkage = if features.split(',').any(|f| f == "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    println!("cargo:rustc-env=BUILD_TARGET={target}, {linkage}");
    println!("cargo:rerun-if-changed=build.rs");
}
