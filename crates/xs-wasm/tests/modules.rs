//! Host-loaded ES modules through the public API: `Machine::import`,
//! `ModuleLoader`, `FsLoader` and the CLI's `run app.mjs`. The example graph
//! (tests/fixtures/modules) is shared with the JS package's
//! tests/modules.test.mjs and its browser test: every loader must give
//! tests/fixtures/modules.expected.json.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use xs_wasm::{Error, FsLoader, Machine, ModuleLoader, ModuleSource, Options, Runtime};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("modules.expected.json")).unwrap()).unwrap()
}

/// The embedded runtime (a pre-initialized module).
fn preinitialized() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("embedded runtime")).clone()
}

/// The repository's plain wasi-os module, when there.
fn plain() -> Option<Runtime> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    if !dir.join("wasi-os").join(xs_wasm::WASI_MODULE_FILE).is_file() {
        return None;
    }
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    Some(RUNTIME.get_or_init(|| Runtime::from_artifacts_dir(&dir, "wasi-os").expect("wasi-os runtime")).clone())
}

fn runtimes() -> Vec<(&'static str, Runtime)> {
    let mut all = vec![("pre-initialized", preinitialized())];
    all.extend(plain().map(|r| ("plain", r)));
    all
}

fn machine() -> Machine {
    Machine::new(&preinitialized(), Options::default()).unwrap()
}

/// Modules from memory: ids are the specifiers; `loads` counts `load` calls.
#[derive(Clone, Default)]
struct Memory {
    modules: BTreeMap<String, ModuleSource>,
    loads: Arc<Mutex<Vec<String>>>,
}

impl Memory {
    fn with(modules: &[(&str, &str)]) -> Memory {
        let modules = modules
            .iter()
            .map(|(id, text)| (id.to_string(), if id.ends_with(".json") { ModuleSource::Json(text.to_string()) } else { ModuleSource::Js(text.to_string()) }))
            .collect();
        Memory { modules, loads: Arc::default() }
    }
}

impl ModuleLoader for Memory {
    fn resolve(&mut self, specifier: &str, _referrer: Option<&str>) -> Result<String, String> {
        Ok(specifier.to_owned())
    }
    fn load(&mut self, id: &str) -> Result<ModuleSource, String> {
        self.loads.lock().unwrap().push(id.to_owned());
        self.modules.get(id).cloned().ok_or_else(|| format!("no module named {id}"))
    }
}

fn js_error(result: Result<Value, Error>) -> (String, String) {
    match result {
        Err(Error::Js { name, message, .. }) => (name, message),
        other => panic!("expected a JS error, got {other:?}"),
    }
}

#[test]
fn the_example_graph_runs_under_lockdown_on_both_runtimes() {
    for (name, runtime) in runtimes() {
        let mut machine = Machine::new(&runtime, Options { lockdown: true, ..Options::default() }).unwrap();
        machine.set_module_loader(FsLoader::new(fixtures().join("modules")).unwrap());
        assert_eq!(machine.import("./main.mjs").unwrap(), expected(), "{name}");
        // evaluated once: the same namespace again, from a script's import() too
        assert_eq!(machine.import("/main.mjs").unwrap(), expected(), "{name}");
        assert_eq!(machine.eval("import('./main.mjs').then((m) => m.counted)").unwrap(), json!(1), "{name}");
    }
}

#[test]
fn snapshots_keep_loaded_modules() {
    let runtime = preinitialized();
    let mut first = Machine::new(&runtime, Options { lockdown: true, ..Options::default() }).unwrap();
    first.set_module_loader(FsLoader::new(fixtures().join("modules")).unwrap());
    assert_eq!(first.import("./main.mjs").unwrap(), expected());
    let snapshot = first.snapshot().unwrap();
    let mut restored = Machine::restore(&runtime, &snapshot, Options::default()).unwrap();
    // the restored machine has the modules: its loader is asked to resolve, never to load
    let loader = Memory::with(&[]);
    let loads = loader.loads.clone();
    struct Ids(Memory);
    impl ModuleLoader for Ids {
        fn resolve(&mut self, specifier: &str, _referrer: Option<&str>) -> Result<String, String> {
            Ok(specifier.trim_start_matches('.').to_owned())
        }
        fn load(&mut self, id: &str) -> Result<ModuleSource, String> {
            self.0.load(id)
        }
    }
    restored.set_module_loader(Ids(loader));
    assert_eq!(restored.import("./main.mjs").unwrap(), expected());
    assert!(loads.lock().unwrap().is_empty(), "loaded again: {:?}", loads.lock().unwrap());
    // and the same bytes for the same history
    let mut again = Machine::new(&runtime, Options { lockdown: true, ..Options::default() }).unwrap();
    again.set_module_loader(FsLoader::new(fixtures().join("modules")).unwrap());
    again.import("./main.mjs").unwrap();
    assert_eq!(again.snapshot().unwrap(), snapshot);
}

#[test]
fn static_and_dynamic_imports_json_modules_and_import_meta() {
    let mut machine = machine();
    machine.set_module_loader(Memory::with(&[
        ("main", "import data from 'data.json' with { type: 'json' }; export const n = data.n; export const uri = import.meta.uri; export default 'd';"),
        ("data.json", r#"{ "n": 7 }"#),
        ("plain", "import data from 'data.json'; export default data;"),
        ("not-json", "import x from 'main' with { type: 'json' }; export default x;"),
    ]));
    assert_eq!(machine.import("main").unwrap(), json!({ "default": "d", "n": 7, "uri": "main" }));
    let (name, message) = js_error(machine.import("plain"));
    assert_eq!(name, "TypeError", "{message}");
    assert!(message.contains("JSON module"), "{message}");
    let (name, message) = js_error(machine.import("not-json"));
    assert_eq!(name, "TypeError", "{message}");
    assert!(message.contains("not a JSON module"), "{message}");
    assert_eq!(machine.eval("import('data.json', { with: { type: 'json' } }).then((m) => m.default.n * 6)").unwrap(), json!(42));
}

#[test]
fn a_loader_that_refuses_returns_garbage_or_panics_gives_clear_errors_and_the_machine_stays_usable() {
    let mut machine = machine();
    machine.set_module_loader(Memory::with(&[
        ("garbage", "export const = ;"),
        ("bad.json", "{ not json"),
        ("imports-missing", "import { nothing } from 'garbage'; export default nothing;"),
    ]));
    let (name, message) = js_error(machine.import("missing"));
    assert_eq!((name.as_str(), message.contains("no module named missing")), ("TypeError", true), "{message}");
    let (name, _) = js_error(machine.import("garbage"));
    assert_eq!(name, "SyntaxError");
    let (name, _) = js_error(machine.import("imports-missing"));
    assert_eq!(name, "SyntaxError");
    let (name, _) = js_error(machine.eval("import('bad.json', { with: { type: 'json' } })"));
    assert_eq!(name, "SyntaxError");
    assert_eq!(machine.eval("6 * 7").unwrap(), json!(42));

    struct Panicky;
    impl ModuleLoader for Panicky {
        fn resolve(&mut self, _: &str, _: Option<&str>) -> Result<String, String> {
            panic!("the loader broke")
        }
        fn load(&mut self, _: &str) -> Result<ModuleSource, String> {
            unreachable!()
        }
    }
    machine.set_module_loader(Panicky);
    match machine.import("x") {
        Err(Error::HostPanic { message }) => assert!(message.contains("the loader broke"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(machine.eval("'usable'").unwrap(), json!("usable"));
}

#[test]
fn without_a_loader_every_import_is_a_type_error() {
    let mut machine = machine();
    let (name, message) = js_error(machine.import("./a.mjs"));
    assert_eq!(name, "TypeError");
    assert!(message.contains("no module loader") && message.contains("./a.mjs"), "{message}");
    assert_eq!(machine.eval("import('./a.mjs').catch((e) => e.name)").unwrap(), json!("TypeError"));
}

#[test]
fn cycles_follow_the_spec_and_errors_stay() {
    let mut machine = machine();
    machine.set_module_loader(Memory::with(&[
        // a cycle that works: functions are hoisted
        ("a", "import { b } from 'b'; export function a() { return 'a' + b(); }"),
        ("b", "import { a } from 'a'; export function b() { return 'b'; } export const viaA = () => a();"),
        // a cycle that reads a binding before its initialization
        ("c", "import { d } from 'd'; export const c = d + 1;"),
        ("d", "import { c } from 'c'; export const d = c + 1;"),
        ("throws", "throw new RangeError('evaluation failed');"),
    ]));
    assert_eq!(machine.eval("import('b').then((m) => m.viaA())").unwrap(), json!("ab"));
    let (name, _) = js_error(machine.import("c"));
    assert_eq!(name, "ReferenceError");
    let (name, message) = js_error(machine.import("throws"));
    assert_eq!((name.as_str(), message.as_str()), ("RangeError", "evaluation failed"));
    // a failed module stays failed: the same error, not a second evaluation
    let (name, _) = js_error(machine.import("throws"));
    assert_eq!(name, "RangeError");
    assert_eq!(machine.eval("1").unwrap(), json!(1));
}

#[test]
fn top_level_await_that_never_settles_and_an_endless_graph_end_clearly() {
    let mut machine = machine();
    machine.set_module_loader(Memory::with(&[("stuck", "await new Promise(() => {}); export default 1;")]));
    let (name, message) = js_error(machine.import("stuck"));
    assert_eq!(name, "TypeError");
    assert!(message.contains("not finished evaluating"), "{message}");
    assert_eq!(machine.eval("2").unwrap(), json!(2));

    // a loader that makes a new module for every id: XS loads a static
    // graph before it runs any of it (loading is C code, not metered), so
    // the memory limit (or the deadline) ends it
    struct Endless;
    impl ModuleLoader for Endless {
        fn resolve(&mut self, specifier: &str, _: Option<&str>) -> Result<String, String> {
            Ok(specifier.to_owned())
        }
        fn load(&mut self, id: &str) -> Result<ModuleSource, String> {
            let n: u64 = id.parse().map_err(|_| "not a number".to_owned())?;
            Ok(ModuleSource::Js(format!("import '{}'; export default {n};", n + 1)))
        }
    }
    let options = Options { meter_limit: Some(2_000_000), memory_limit: 4 << 20, deadline: Some(std::time::Duration::from_secs(30)), ..Options::default() };
    let mut bounded = Machine::new(&preinitialized(), options).unwrap();
    bounded.set_module_loader(Endless);
    let ending = bounded.import("0");
    assert!(matches!(ending, Err(Error::OutOfMemory | Error::MeterLimit { .. } | Error::Deadline { .. })), "{ending:?}");
    eprintln!("an endless static graph ended with: {ending:?}");
    assert!(bounded.is_stopped());
}

#[test]
fn fs_loader_refuses_paths_outside_its_root_and_unmapped_bare_specifiers() {
    let mut machine = machine();
    machine.set_module_loader(FsLoader::new(fixtures().join("modules/lib")).unwrap().map("math", "./math.mjs"));
    assert_eq!(machine.eval("import('math').then((m) => m.double(2))").unwrap(), json!(4));
    let (name, message) = js_error(machine.import("../main.mjs"));
    assert_eq!(name, "TypeError");
    assert!(message.contains("\"../main.mjs\"") && message.contains("outside the root"), "{message}");
    let (name, message) = js_error(machine.import("lodash"));
    assert_eq!(name, "TypeError");
    assert!(message.contains("\"lodash\"") && message.contains("bare specifier"), "{message}");
    let (_, message) = js_error(machine.import("./nothing.mjs"));
    assert!(message.contains("no module /nothing.mjs"), "{message}");
    assert_eq!(machine.import("./math.mjs").unwrap(), json!({}), "functions are not JSON: the namespace's JSON drops them");
}

#[cfg(feature = "cli")]
fn cli(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xs-wasm")).args(args).output().expect("run xs-wasm");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[cfg(feature = "cli")]
#[test]
fn cli_runs_the_example_module_and_refuses_paths_outside_the_root() {
    let main = fixtures().join("modules/main.mjs");
    let (code, stdout, stderr) = cli(&["run".as_ref(), "--lockdown".as_ref(), main.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), expected());

    // a module that imports outside the root: exit 1, the error names it
    let dir = Scratch::new("cli");
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("secret.mjs"), "export default 'secret';").unwrap();
    std::fs::write(dir.path().join("app/app.js"), "import s from '../secret.mjs'; export default s;").unwrap();
    let app = dir.path().join("app/app.js");
    let (code, stdout, stderr) = cli(&["run".as_ref(), "--module-mode".as_ref(), app.as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("TypeError") && stderr.contains("\"../secret.mjs\"") && stderr.contains("outside the root"), "{stderr}");
    // with the root above it the same module runs
    let (code, stdout, stderr) = cli(&["run".as_ref(), "--module-mode".as_ref(), "--root".as_ref(), dir.path().as_os_str(), app.as_os_str()]);
    assert_eq!((code, stdout.trim()), (0, r#"{"default":"secret"}"#), "{stderr}");
    // a file outside --root: exit 3
    let (code, _, stderr) = cli(&["run".as_ref(), "--root".as_ref(), dir.path().join("app").as_os_str(), dir.path().join("secret.mjs").as_os_str()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("outside --root"), "{stderr}");
    // a script's import() goes through the same loader
    std::fs::write(dir.path().join("app/script.js"), "import('../app/app.js').then((m) => m.default, (e) => e.message)").unwrap();
    let (code, stdout, _) = cli(&["run".as_ref(), dir.path().join("app/script.js").as_os_str()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("outside the root"), "{stdout}");
}

/// A directory of its own under the system's temporary directory, removed when dropped.
#[cfg(feature = "cli")]
struct Scratch(PathBuf);

#[cfg(feature = "cli")]
impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xs-wasm-modules-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir.canonicalize().unwrap())
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(feature = "cli")]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
