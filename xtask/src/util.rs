//! Small helpers shared by the tasks: hashing, base64, running commands, files.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The `xtask/` directory: `CARGO_MANIFEST_DIR` as cargo sets it when it runs
/// the binary or its tests, else the one compiled in. Read at run time because
/// cargo reuses a compiled xtask across checkouts that share a target directory
/// (the compiled-in path would then name another checkout).
pub fn xtask_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("src/main.rs").is_file() && dir.join("smoke").is_dir())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The repository: the parent of [`xtask_dir`].
pub fn repo_root() -> PathBuf {
    xtask_dir().parent().expect("xtask lives in the repository").to_owned()
}

/// Relative '/'-separated paths of the files under `dir`, sorted; names
/// starting with '.' are left out (with their contents) unless `hidden`.
/// Errors when `dir` cannot be listed, on non-UTF-8 names and on anything
/// that is neither a file nor a directory (symlinks included).
pub fn relative_files(dir: &Path, hidden: bool) -> Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, hidden: bool, out: &mut Vec<String>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().into_string().map_err(|n| anyhow::anyhow!("non-UTF-8 file name {n:?} in {}", dir.display()))?;
            if !hidden && name.starts_with('.') {
                continue;
            }
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &rel, hidden, out)?;
            } else if kind.is_file() {
                out.push(rel);
            } else {
                bail!("{} is neither a file nor a directory", entry.path().display());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", hidden, &mut out)?;
    out.sort();
    Ok(out)
}

/// The tree hash (`fetch::tree_sha256`'s) over the given files (relative,
/// sorted) of `dir`: for each, its path, 0x00, its length as u64
/// little-endian, its contents; sha256 of it all.
pub fn files_sha256(dir: &Path, files: &[String]) -> Result<String> {
    let mut hasher = Sha256::new();
    for rel in files {
        let contents = fs::read(dir.join(rel)).with_context(|| format!("cannot read {}/{rel}", dir.display()))?;
        hasher.update(rel.as_bytes());
        hasher.update([0u8]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Lowercase hex sha256 of `bytes`: the loader crate's, the one sha256 helper
/// of the workspace (re-exported so the tasks keep importing it from here).
pub use xs_wasm::sha256_hex;

/// Lowercase hex sha256 of a file's contents, read in chunks (the fetched
/// archives are large); the same text as [`sha256_hex`] of the whole file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Standard base64 (RFC 4648 alphabet, with `=` padding).
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decode canonical standard base64: `=` padding to a multiple of 4
/// characters, no other characters (whitespace included), zero trailing bits.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    STANDARD.decode(text).map_err(|e| anyhow::anyhow!("invalid base64: {e}"))
}

/// Environment every child process gets, for reproducible output.
/// `SOURCE_DATE_EPOCH` is honoured when set, else 0.
pub fn reproducible_env() -> Vec<(OsString, OsString)> {
    let epoch = std::env::var_os("SOURCE_DATE_EPOCH").unwrap_or_else(|| "0".into());
    vec![
        ("SOURCE_DATE_EPOCH".into(), epoch),
        ("LC_ALL".into(), "C".into()),
        ("TZ".into(), "UTC".into()),
    ]
}

/// Environment variables that would change what the compilers, the linker or
/// wasm-opt produce without being recorded anywhere (extra flags, include or
/// library paths, debug dumps, another libc): removed from every tool's
/// environment by [`sanitized`]. The variables the build does depend on are
/// set explicitly instead ([`reproducible_env`], the toolchain's own `env`).
/// Variables that choose a tool (`EMSDK`, `EM_LLVM_ROOT`, `WASI_SDK_PATH`...)
/// are kept: the tool they choose is found and its version recorded.
pub const LEAKY_ENV: &[&str] = &[
    // C compilers and linkers (clang, zig cc)
    "CFLAGS", "CPPFLAGS", "CXXFLAGS", "LDFLAGS", "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH", "LIBRARY_PATH", "CCC_OVERRIDE_OPTIONS", "CC_PRINT_OPTIONS", "CC_LOG_DIAGNOSTICS",
    "ZIG_LIB_DIR", "ZIG_VERBOSE_LINK", "ZIG_VERBOSE_CC",
    // emscripten (EM_<KEY> overrides any key of the emscripten config file)
    "EMCC_CFLAGS", "EMMAKEN_CFLAGS", "EMCC_DEBUG", "EMCC_FORCE_STDLIBS", "EMCC_ONLY_FORCED_STDLIBS",
    "EMCC_LOCAL_PORTS", "EMCC_STRICT",
    // binaryen and node
    "BINARYEN_PASS_DEBUG", "BINARYEN_PRINT_FULL", "NODE_OPTIONS",
];

/// Set `env` on `sh`, in order (later entries win).
pub fn apply_env<'a>(sh: &xshell::Shell, env: impl IntoIterator<Item = &'a (OsString, OsString)>) {
    for (k, v) in env {
        sh.set_var(k, v);
    }
}

/// `cmd` without any [`LEAKY_ENV`] variable, whether inherited or set on its shell.
pub fn sanitized(cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    LEAKY_ENV.iter().fold(cmd, |c, k| c.env_remove(k))
}

/// Run a command with its output captured. When it fails (cannot start, or
/// exits non-zero), the error shows the command line, `what` it was for, and
/// the end of its output.
pub fn run_captured(cmd: xshell::Cmd<'_>, what: &str) -> Result<Output> {
    let line = cmd.to_string();
    let output = cmd.quiet().ignore_status().output().with_context(|| format!("{what}: cannot run `{line}`"))?;
    if !output.status.success() {
        bail!("{what}: `{line}` failed ({})\n{}", output.status, tail_of_output(&output));
    }
    Ok(output)
}

/// The last 40 lines of a command's stdout and stderr, for error messages.
pub fn tail_of_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(40);
    let mut tail = lines[start..].join("\n");
    if start > 0 {
        tail = format!("... ({start} lines before)\n{tail}");
    }
    tail
}

/// Write `contents` to `path` through a temporary file in the same directory
/// and a rename, so readers never see a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().context("path has no parent")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().context("path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Remove a directory tree if it exists.
pub fn remove_dir_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// `path` relative to `base` with '/' separators, or the path itself when it is not under `base`.
pub fn display_relative(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrips_every_length() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=", "the standard alphabet, not the URL one");
        for n in 0..300usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
    }

    fn refused(text: &str) -> String {
        match base64_decode(text) {
            Ok(bytes) => panic!("{text:?} was accepted as {bytes:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn base64_refuses_a_wrong_number_of_padding_characters() {
        for text in ["Zg=", "Zg", "Zg===", "Zm8", "Zm8==", "Zm9v=", "Zm9v==", "Zm9v===="] {
            refused(text);
        }
    }

    #[test]
    fn base64_refuses_lengths_of_4n_plus_1() {
        for text in ["Z", "Z===", "Zm9vY", "Zm9vY===", "Zm9vYmFyZ"] {
            refused(text);
        }
    }

    #[test]
    fn base64_refuses_non_zero_trailing_bits() {
        // "Zg==" and "Zm8=" are the canonical forms of "f" and "fo": the
        // discarded low bits of the last character must be zero.
        for text in ["Zh==", "Zv==", "Zm9=", "Zm/="] {
            let err = refused(text);
            assert!(err.contains("last symbol") || err.contains("trailing"), "{text}: {err}");
        }
    }

    #[test]
    fn base64_refuses_characters_outside_the_alphabet() {
        for text in ["Zm9v!", "Zm9v\n", "Zm 9v", "Zm-v", "Zm_v", "Zg==Zg==", "=Zm9", "Zm9vYmFy\0"] {
            refused(text);
        }
    }

    #[test]
    fn sha256_of_a_file_is_sha256_hex_of_its_contents() {
        let path = std::env::temp_dir().join(format!("xtask-test-{}-sha256-file", std::process::id()));
        let contents: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &contents).unwrap();
        let of_file = sha256_file(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(of_file, sha256_hex(&contents));
        assert!(sha256_file(&path).is_err(), "a missing file is an error");
    }

    #[cfg(unix)]
    #[test]
    fn tool_calls_never_see_flag_variables_even_when_set_on_the_shell() {
        let sh = xshell::Shell::new().unwrap();
        let env: Vec<(OsString, OsString)> = vec![("CFLAGS".into(), "-DNOISE".into()), ("EMCC_CFLAGS".into(), "-DNOISE".into()), ("XS_WASM_KEPT".into(), "yes".into())];
        apply_env(&sh, &env);
        let out = sanitized(xshell::cmd!(sh, "env")).read().unwrap();
        assert!(out.lines().any(|l| l == "XS_WASM_KEPT=yes"), "{out}");
        assert!(!out.contains("CFLAGS="), "{out}");
    }

    #[test]
    fn sha256_has_the_known_values() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
