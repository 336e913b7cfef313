//! Records the target triple the xtask was compiled for, so that the native
//! reference runner (`src/native.rs`) is built by the `cc` crate for the same
//! host without asking rustc again.
fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=XTASK_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
