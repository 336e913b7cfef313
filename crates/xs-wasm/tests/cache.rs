//! The compiled-module cache: misses write an entry, hits load it, corrupt,
//! foreign and unwritable caches never break `Runtime` creation. Every test
//! uses its own temporary directory, passed explicitly (library) or through
//! the child's environment (CLI); the process environment is never changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::json;
use xs_wasm::{CacheOutcome, Machine, ModuleCache, Options, Runtime, RuntimeOptions};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("xs-wasm-cache-test-{name}-{}-{}-{nanos}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed)));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn options(dir: &Path) -> RuntimeOptions {
    RuntimeOptions { module_cache: ModuleCache::Dir(dir.to_owned()), ..RuntimeOptions::default() }
}

/// The runtime works: a machine evaluates `1+1`.
fn assert_works(runtime: &Runtime) {
    let mut machine = Machine::new(runtime, Options::default()).unwrap();
    assert_eq!(machine.eval("1+1").unwrap(), json!(2));
}

/// The files in `dir` (names), sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(read) => read.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn expect_miss(runtime: &Runtime) -> (PathBuf, Option<String>, Option<String>) {
    match runtime.cache_outcome() {
        CacheOutcome::Miss { path, rejected, write_error } => (path.clone(), rejected.clone(), write_error.clone()),
        other => panic!("expected a miss, got {other:?}"),
    }
}

fn expect_hit(runtime: &Runtime) -> PathBuf {
    match runtime.cache_outcome() {
        CacheOutcome::Hit { path } => path.clone(),
        other => panic!("expected a hit, got {other:?}"),
    }
}

/// A valid entry of the embedded artifact: (file name, bytes), compiled once.
fn golden() -> &'static (String, Vec<u8>) {
    static GOLDEN: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let dir = TempDir::new("golden");
        let runtime = Runtime::new_with(&options(dir.path())).unwrap();
        let (path, rejected, write_error) = expect_miss(&runtime);
        assert_eq!((rejected, write_error), (None, None));
        (path.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&path).unwrap())
    })
}

/// A cache directory holding `bytes` as the embedded artifact's entry; its path.
fn dir_with_entry(dir: &TempDir, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(&golden().0);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_miss_writes_an_entry_and_a_hit_loads_it_unchanged() {
    let dir = TempDir::new("miss-hit");
    let first = Runtime::new_with(&options(dir.path())).unwrap();
    let (path, rejected, write_error) = expect_miss(&first);
    assert_eq!((rejected, write_error), (None, None));
    assert_eq!(path.parent(), Some(dir.path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("xs-wasm-") && name.ends_with(".cwasm"), "{name}");
    // One entry, no temporary file left behind.
    assert_eq!(files(dir.path()), vec![name.clone()]);
    let bytes = fs::read(&path).unwrap();
    assert!(bytes.len() > 1_000_000, "a compiled module is megabytes: {}", bytes.len());
    let modified = fs::metadata(&path).unwrap().modified().unwrap();
    assert_works(&first);

    let second = Runtime::new_with(&options(dir.path())).unwrap();
    assert_eq!(expect_hit(&second), path);
    assert_works(&second);
    // A hit writes nothing: same single file, same bytes, same mtime.
    assert_eq!(files(dir.path()), vec![name]);
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), modified);
}

#[test]
fn a_missing_directory_is_created() {
    let dir = TempDir::new("create");
    let nested = dir.path().join("a").join("b");
    let runtime = Runtime::new_with(&options(&nested)).unwrap();
    let (path, _, write_error) = expect_miss(&runtime);
    assert_eq!(write_error, None);
    assert!(path.starts_with(&nested) && path.is_file());
    assert_works(&runtime);
}

#[test]
fn corrupt_entries_are_rejected_and_replaced() {
    let (_, good) = golden();
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbage", (0..good.len()).map(|i| (i * 7 + 13) as u8).collect()),
        ("one flipped byte in the compiled code", flipped),
    ];
    for (what, bytes) in cases {
        let dir = TempDir::new("corrupt");
        let path = dir_with_entry(&dir, &bytes);
        let runtime = Runtime::new_with(&options(dir.path())).unwrap();
        let (miss_path, rejected, write_error) = expect_miss(&runtime);
        assert_eq!(miss_path, path);
        assert!(rejected.is_some(), "{what}: the entry must be rejected");
        assert_eq!(write_error, None, "{what}");
        assert_works(&runtime);
        // Replaced by a valid entry, which the next runtime loads.
        assert_eq!(fs::read(&path).unwrap().len(), good.len(), "{what}");
        let again = Runtime::new_with(&options(dir.path())).unwrap();
        expect_hit(&again);
        assert_works(&again);
    }
}

#[test]
fn an_entry_with_another_key_is_not_trusted() {
    let (_, good) = golden();
    // A well-formed entry (payload and its checksum intact) whose header
    // names another artifact/engine key, as if copied from elsewhere.
    let mut foreign = good.clone();
    for byte in &mut foreign[16..48] {
        *byte = !*byte;
    }
    let dir = TempDir::new("foreign-key");
    dir_with_entry(&dir, &foreign);
    let runtime = Runtime::new_with(&options(dir.path())).unwrap();
    let (_, rejected, write_error) = expect_miss(&runtime);
    let rejected = rejected.expect("rejected");
    assert!(rejected.contains("another artifact"), "{rejected}");
    assert_eq!(write_error, None);
    assert_works(&runtime);

    // An entry of another format version.
    let mut other_format = good.clone();
    other_format[8..12].copy_from_slice(&99u32.to_le_bytes());
    let dir = TempDir::new("foreign-format");
    dir_with_entry(&dir, &other_format);
    let runtime = Runtime::new_with(&options(dir.path())).unwrap();
    assert!(expect_miss(&runtime).1.is_some());
    assert_works(&runtime);
}

#[test]
fn another_artifacts_entry_under_this_name_is_not_trusted() {
    // The repository's wasi-oz artifact: a real entry, for other bytes.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    if !artifacts.join("wasi-oz").join(xs_wasm::WASI_MODULE_FILE).is_file() {
        eprintln!("skipped: no wasi-oz artifact in {}", artifacts.display());
        return;
    }
    let other_dir = TempDir::new("other-artifact");
    let other = Runtime::from_artifacts_dir_with(&artifacts, "wasi-oz", &options(other_dir.path())).unwrap();
    assert_ne!(other.artifact().sha256, Runtime::embedded_artifact().unwrap().sha256);
    let (other_path, _, write_error) = expect_miss(&other);
    assert_eq!(write_error, None);
    let other_bytes = fs::read(&other_path).unwrap();

    let dir = TempDir::new("foreign-artifact");
    let path = dir_with_entry(&dir, &other_bytes);
    let runtime = Runtime::new_with(&options(dir.path())).unwrap();
    let (_, rejected, _) = expect_miss(&runtime);
    assert!(rejected.expect("rejected").contains("another artifact"));
    assert_eq!(runtime.artifact().sha256, Runtime::embedded_artifact().unwrap().sha256);
    assert_works(&runtime);
    assert_ne!(fs::read(&path).unwrap(), other_bytes, "the foreign entry was replaced");
}

#[test]
fn an_unwritable_cache_still_gives_a_working_runtime() {
    // A cache directory that cannot be created, whoever we are: its parent
    // is a regular file.
    let dir = TempDir::new("unwritable");
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"not a directory").unwrap();
    let runtime = Runtime::new_with(&options(&blocker.join("cache"))).unwrap();
    let (_, rejected, write_error) = expect_miss(&runtime);
    assert_eq!(rejected, None);
    assert!(write_error.is_some());
    assert_works(&runtime);
    assert_eq!(fs::read(&blocker).unwrap(), b"not a directory");
    assert_eq!(files(dir.path()), vec!["file".to_owned()]);
}

#[cfg(unix)]
#[test]
fn a_read_only_cache_directory_is_used_and_never_breaks_creation() {
    use std::os::unix::fs::PermissionsExt;
    let (name, good) = golden();
    let read_only = |dir: &Path| fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
    let writable = |dir: &Path| fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();

    // Holding a valid entry: a hit, read without writing.
    let dir = TempDir::new("read-only-hit");
    dir_with_entry(&dir, good);
    read_only(dir.path());
    let runtime = Runtime::new_with(&options(dir.path()));
    writable(dir.path());
    let runtime = runtime.unwrap();
    expect_hit(&runtime);
    assert_works(&runtime);

    // Empty: compiled. Whether the write fails depends on who we are (root
    // writes anyway), so probe it.
    let dir = TempDir::new("read-only-empty");
    read_only(dir.path());
    let probe = dir.path().join("probe");
    let can_write = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    let runtime = Runtime::new_with(&options(dir.path()));
    let listing = files(dir.path());
    writable(dir.path());
    let runtime = runtime.unwrap();
    let (_, rejected, write_error) = expect_miss(&runtime);
    assert_eq!(rejected, None);
    if !can_write {
        assert!(write_error.is_some());
        assert!(listing.is_empty(), "{listing:?}");
    } else {
        assert_eq!(listing, vec![name.clone()]);
    }
    assert_works(&runtime);
}

#[test]
fn an_off_cache_reads_and_writes_nothing() {
    assert_eq!(ModuleCache::Off.resolve(), None);
    assert_eq!(ModuleCache::Dir("/x".into()).resolve(), Some(PathBuf::from("/x")));
    let runtime = Runtime::new_with(&RuntimeOptions { module_cache: ModuleCache::Off, ..RuntimeOptions::default() }).unwrap();
    assert_eq!(runtime.cache_outcome(), &CacheOutcome::Off);
    assert_works(&runtime);
}

// ---- the CLI, with the cache chosen by flags and by the child's environment (feature `cli`)
#[cfg(feature = "cli")]
mod cli {
    use std::process::Command;

    use super::*;


    /// Run the CLI with the cache variables removed, then `env` set; (exit code, stdout, stderr).
    fn xs_wasm(args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xs-wasm"));
        command.args(args).env_remove("XS_WASM_CACHE").env_remove("XS_WASM_CACHE_DIR").env_remove("XDG_CACHE_HOME");
        for (name, value) in env {
            command.env(name, value);
        }
        let out = command.output().expect("run xs-wasm");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).trim().to_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn cwasm_files(dir: &Path) -> Vec<String> {
        files(dir).into_iter().filter(|name| name.ends_with(".cwasm")).collect()
    }

    #[test]
    fn cli_cache_dir_writes_an_entry_then_reuses_it() {
        let dir = TempDir::new("cli");
        let cache = dir.path().join("cache");
        let cache_arg = cache.to_str().unwrap();
        let (code, out, err) = xs_wasm(&["--cache-dir", cache_arg, "eval", "1+1"], &[]);
        assert_eq!((code, out.as_str()), (0, "2"), "{err}");
        let entries = cwasm_files(&cache);
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(files(&cache), entries, "no temporary files left");
        let path = cache.join(&entries[0]);
        let before = fs::metadata(&path).unwrap();

        let (code, out, err) = xs_wasm(&["eval", "1+1", "--cache-dir", cache_arg], &[]);
        assert_eq!((code, out.as_str()), (0, "2"), "{err}");
        // The second process loaded the entry: nothing rewritten.
        assert_eq!(cwasm_files(&cache), entries);
        let after = fs::metadata(&path).unwrap();
        assert_eq!(after.modified().unwrap(), before.modified().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(after.ino(), before.ino(), "the entry was not replaced");
        }
    }

    #[test]
    fn cli_cache_location_follows_the_environment() {
        let dir = TempDir::new("cli-env");
        // XS_WASM_CACHE_DIR.
        let by_var = dir.path().join("by-var");
        let (code, out, err) = xs_wasm(&["eval", "1+1"], &[("XS_WASM_CACHE_DIR", &by_var)]);
        assert_eq!((code, out.as_str()), (0, "2"), "{err}");
        assert_eq!(cwasm_files(&by_var).len(), 1);
        // --cache-dir wins over XS_WASM_CACHE=off.
        let by_flag = dir.path().join("by-flag");
        let (code, _, err) = xs_wasm(&["eval", "1+1", "--cache-dir", by_flag.to_str().unwrap()], &[("XS_WASM_CACHE", Path::new("off"))]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(cwasm_files(&by_flag).len(), 1);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            // XDG_CACHE_HOME (absolute) and HOME.
            let xdg = dir.path().join("xdg");
            let (code, _, err) = xs_wasm(&["eval", "1+1"], &[("XDG_CACHE_HOME", &xdg), ("HOME", &dir.path().join("home-unused"))]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(cwasm_files(&xdg.join("xs-wasm")).len(), 1);
            assert!(!dir.path().join("home-unused").exists());
            let home = dir.path().join("home");
            let (code, _, err) = xs_wasm(&["eval", "1+1"], &[("HOME", &home)]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(cwasm_files(&home.join(".cache").join("xs-wasm")).len(), 1);
        }
    }

    #[test]
    fn cli_cache_off_writes_nothing() {
        let dir = TempDir::new("cli-off");
        let home = dir.path().join("home");
        let by_var = dir.path().join("by-var");
        let env = [("HOME", home.as_path()), ("XDG_CACHE_HOME", home.as_path()), ("XS_WASM_CACHE_DIR", by_var.as_path())];
        // --no-cache, XS_WASM_CACHE=off, and an empty XS_WASM_CACHE_DIR.
        let (code, out, err) = xs_wasm(&["--no-cache", "eval", "1+1"], &env);
        assert_eq!((code, out.as_str()), (0, "2"), "{err}");
        let (code, _, err) = xs_wasm(&["eval", "1+1"], &[env[0], env[1], env[2], ("XS_WASM_CACHE", Path::new("OFF"))]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = xs_wasm(&["eval", "1+1"], &[env[0], env[1], ("XS_WASM_CACHE_DIR", Path::new(""))]);
        assert_eq!(code, 0, "{err}");
        assert!(!by_var.exists() && !home.exists(), "nothing written: {:?}", files(dir.path()));
        // The two flags contradict each other: a usage error.
        let (code, _, err) = xs_wasm(&["--no-cache", "--cache-dir", "x", "eval", "1+1"], &[]);
        assert_eq!(code, 3);
        assert!(err.contains("--no-cache") || err.contains("--cache-dir"), "{err}");
    }
}
