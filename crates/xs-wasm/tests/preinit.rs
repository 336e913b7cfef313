//! Pre-initialized modules (`xs_wasm::preinit`): the embedded module is one,
//! machines from it behave like fresh ones, and modules made with setup code
//! are checked against the artifact they claim to come from.

use std::sync::OnceLock;

use serde_json::json;
use xs_wasm::preinit::{preinitialize, PreinitInfo};
use xs_wasm::{Creation, Error, Machine, Manifest, ModuleCache, Options, Runtime, RuntimeOptions};

fn uncached() -> RuntimeOptions {
    RuntimeOptions { module_cache: ModuleCache::Off, ..RuntimeOptions::default() }
}

/// The repository's (or the packaged crate's) artifacts directory.
fn artifacts_dir() -> std::path::PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let packaged = crate_dir.join("artifacts");
    if packaged.join("manifest.json").is_file() {
        packaged
    } else {
        crate_dir.join("../../artifacts")
    }
}

/// The embedded runtime (a pre-initialized module) and the bytes it runs.
fn embedded() -> &'static (Runtime, Vec<u8>) {
    static EMBEDDED: OnceLock<(Runtime, Vec<u8>)> = OnceLock::new();
    EMBEDDED.get_or_init(|| {
        let runtime = Runtime::new().expect("embedded runtime");
        let info = runtime.artifact().clone();
        let dir = artifacts_dir().join(&info.variant);
        let bytes = std::fs::read(dir.join(xs_wasm::WASI_PREINIT_FILE)).expect("the embedded variant's pre-initialized module");
        info.verify(&bytes).expect("the embedded module is the variant's pre-initialized module");
        (runtime, bytes)
    })
}

/// The plain module of the embedded variant.
fn plain() -> &'static Runtime {
    static PLAIN: OnceLock<Runtime> = OnceLock::new();
    PLAIN.get_or_init(|| Runtime::from_artifacts_dir(&artifacts_dir(), &embedded().0.artifact().variant).expect("plain runtime"))
}

/// A module made from the embedded one with setup code.
fn with_setup() -> &'static (Vec<u8>, Runtime) {
    static MADE: OnceLock<(Vec<u8>, Runtime)> = OnceLock::new();
    MADE.get_or_init(|| {
        let (runtime, base) = embedded();
        let setup = ["globalThis.counter = { n: 41 }; function bump() { return ++counter.n; }"];
        let module = preinitialize(base, runtime.artifact(), Creation::default(), &setup).expect("preinitialize");
        let made = runtime.from_preinitialized(&module, base, &uncached()).expect("load the module made with setup code");
        (module, made)
    })
}

#[test]
fn the_embedded_module_is_pre_initialized_and_plain_modules_are_not() {
    let info: &PreinitInfo = embedded().0.preinit_info().expect("the embedded module carries a pre-initialization record");
    assert_eq!(info.creation, [0; 11], "default creation");
    assert_eq!(info.setup_sha256, None);
    assert_eq!(info.base_sha256, Manifest::from_path(&artifacts_dir().join("manifest.json")).unwrap().wasi_artifact(&info.variant).unwrap().sha256);
    assert!(plain().preinit_info().is_none());
}

#[test]
fn a_pre_initialized_machine_snapshots_to_the_bytes_of_a_fresh_one() {
    let fresh = Machine::new(plain(), Options::default()).unwrap().snapshot().unwrap();
    let mut pre = Machine::new(&embedded().0, Options::default()).unwrap();
    assert_eq!(pre.snapshot().unwrap(), fresh);
    assert_eq!(pre.eval("[1, 2, 3].map(x => x * 2)").unwrap(), json!([2, 4, 6]));
}

#[test]
fn machines_of_one_module_do_not_share_state() {
    let runtime = &embedded().0;
    let mut a = Machine::new(runtime, Options::default()).unwrap();
    let mut b = Machine::new(runtime, Options::default()).unwrap();
    a.eval("globalThis.x = 1").unwrap();
    assert_eq!(b.eval("typeof x").unwrap(), json!("undefined"));
}

#[test]
fn other_creations_and_restores_work_on_a_pre_initialized_runtime() {
    let runtime = &embedded().0;
    let creation = Creation { stack_count: 4096, ..Creation::default() };
    let mut small = Machine::new(runtime, Options { creation, ..Options::default() }).unwrap();
    let err = small.eval("function f(n) { return n ? f(n - 1) + 1 : 0 } f(5000)").unwrap_err();
    assert!(matches!(&err, Error::Js { name, .. } if name == "RangeError"), "the 4,096-slot stack applies: {err:?}");
    let mut host = Machine::new(runtime, Options { test262_host: true, ..Options::default() }).unwrap();
    host.eval("if (typeof $262.evalScript !== 'function') throw new Error('no $262')").unwrap();
    let mut m = Machine::new(runtime, Options::default()).unwrap();
    m.eval("globalThis.kept = 'yes'").unwrap();
    let snapshot = m.snapshot().unwrap();
    let mut restored = Machine::restore(runtime, &snapshot, Options::default()).unwrap();
    assert_eq!(restored.eval("kept").unwrap(), json!("yes"));
}

#[test]
fn the_memory_limit_applies_to_a_pre_initialized_machine() {
    let options = Options { memory_limit: 8 << 20, ..Options::default() };
    let mut m = Machine::new(&embedded().0, options).unwrap();
    let err = m.eval("const a = []; for (;;) a.push(new Array(1e5).fill(1))").unwrap_err();
    assert!(matches!(err, Error::OutOfMemory), "{err:?}");
}

#[test]
fn setup_code_runs_once_when_the_module_is_made() {
    let (_, runtime) = with_setup();
    let record = runtime.preinit_info().unwrap();
    assert!(record.setup_sha256.is_some());
    assert_eq!(record.base_sha256, embedded().0.artifact().sha256);
    let mut a = Machine::new(runtime, Options::default()).unwrap();
    let mut b = Machine::new(runtime, Options::default()).unwrap();
    assert_eq!(a.eval("bump()").unwrap(), json!(42));
    assert_eq!(a.eval("bump()").unwrap(), json!(43));
    assert_eq!(b.eval("bump()").unwrap(), json!(42), "each machine starts from the state after setup");
    // Other options fall back to a fresh machine, without the setup state.
    let mut c = Machine::new(runtime, Options { test262_host: true, ..Options::default() }).unwrap();
    c.eval("if (typeof counter !== 'undefined') throw new Error('setup state leaked')").unwrap();
}

#[test]
fn making_a_module_is_deterministic() {
    let (runtime, base) = embedded();
    let setup = ["globalThis.counter = { n: 41 }; function bump() { return ++counter.n; }"];
    let again = preinitialize(base, runtime.artifact(), Creation::default(), &setup).unwrap();
    assert_eq!(again, with_setup().0);
}

#[test]
fn failing_setup_code_is_an_error() {
    let (runtime, base) = embedded();
    let err = preinitialize(base, runtime.artifact(), Creation::default(), &["throw new TypeError('nope')"]).unwrap_err();
    assert!(matches!(&err, Error::Js { name, message, .. } if name == "TypeError" && message == "nope"), "{err:?}");
}

#[test]
fn a_tampered_module_is_refused() {
    let (runtime, base) = embedded();
    let (module, _) = with_setup();
    // A byte of the initial memory (the data section, before the record).
    let data = find_section(module, 11).expect("a data section");
    let mut tampered = module.clone();
    tampered[data.start + data.len() / 2] ^= 0x55;
    let err = runtime.from_preinitialized(&tampered, base, &uncached()).unwrap_err();
    assert!(matches!(&err, Error::Incompatible(reason) if reason.contains("changed after it was made")), "{err:?}");
    // A byte of the code.
    let code = find_section(module, 10).expect("a code section");
    let mut tampered = module.clone();
    tampered[code.start + code.len() / 2] ^= 0x55;
    let err = runtime.from_preinitialized(&tampered, base, &uncached()).unwrap_err();
    assert!(matches!(&err, Error::Incompatible(reason) if reason.contains("code")), "{err:?}");
    // Not the bytes of this runtime's module as the base.
    let err = runtime.from_preinitialized(module, &module[..], &uncached()).unwrap_err();
    assert!(matches!(err, Error::ArtifactMismatch { .. }), "{err:?}");
}

#[test]
fn a_module_made_from_another_artifact_is_refused() {
    let (module, _) = with_setup();
    // The plain module as the base: the record names the pre-initialized one.
    let dir = artifacts_dir().join(&plain().artifact().variant);
    let base = std::fs::read(dir.join(xs_wasm::WASI_MODULE_FILE)).unwrap();
    let err = plain().from_preinitialized(module, &base, &uncached()).unwrap_err();
    assert!(matches!(&err, Error::Incompatible(reason) if reason.contains("made from artifact")), "{err:?}");
    // A plain module is not a pre-initialized one.
    let err = plain().from_preinitialized(&base, &base, &uncached()).unwrap_err();
    assert!(matches!(&err, Error::Incompatible(reason) if reason.contains("not a pre-initialized module")), "{err:?}");
}

/// The byte range of the first section with this id (wasmparser).
fn find_section(module: &[u8], id: u8) -> Option<std::ops::Range<usize>> {
    wasmparser::Parser::new(0).parse_all(module).filter_map(|p| p.ok()?.as_section()).find(|(this, _)| *this == id).map(|(_, range)| range)
}
