//! Making a pre-initialized module (feature `preinit`): wasmtime-wizer
//! snapshots a machine's instance.

use wasmtime::{Instance, Store};

use super::record::{digest, PreinitInfo, PREINIT_FORMAT, PREINIT_SECTION};
use crate::abi::{export, Creation};
use crate::artifact::sha256_hex;
use crate::error::{Error, Result};
use crate::guest::{block_on, HostState};
use crate::machine::{Machine, Options};
use crate::runtime::Runtime;

/// Make a pre-initialized module from the artifact `base` (checked against
/// `info`): a machine created with `creation` and kept, after running each
/// of `setup` in it as a global script (as [`Machine::eval`](crate::Machine::eval)).
/// Deterministic: the same inputs give the same bytes.
///
/// Cost: one compilation of the instrumented module (about a second) plus
/// the setup scripts.
///
/// # Errors
///
/// [`Error::ArtifactMismatch`] when `base` is not the artifact of
/// `info`; [`Error::Js`] (and the other errors of `Machine::eval`) when a
/// setup script fails; [`Error::Wasmtime`] when wizer cannot instrument or
/// snapshot the module.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::path::Path;
/// use xs_wasm::{preinit, Creation, Machine, Manifest, Options, Runtime, RuntimeOptions};
/// // The repository's artifacts/, after `cargo xtask build`.
/// let info = Manifest::from_path(Path::new("artifacts/manifest.json"))?.wasi_artifact("wasi-os")?;
/// let base = std::fs::read("artifacts/wasi-os/xs-wasm.wasm")?;
/// let module = preinit::preinitialize(&base, &info, Creation::default(), &["var ready = true"])?;
/// let runtime = Runtime::from_bytes(&base, &info)?.from_preinitialized(&module, &base, &RuntimeOptions::default())?;
/// assert_eq!(Machine::new(&runtime, Options::default())?.eval("ready")?, serde_json::json!(true));
/// # Ok(())
/// # }
/// ```
pub fn preinitialize(base: &[u8], info: &crate::ArtifactInfo, creation: Creation, setup: &[&str]) -> Result<Vec<u8>> {
    info.verify(base)?;
    let base_digest = digest(base)?;
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func(export::PREINIT.name);
    let (cx, instrumented) = wizer.instrument(base).map_err(Error::wasm)?;
    // A pre-initialized base (the default module) hands its kept machine to
    // the setup code when the creation matches.
    let runtime = Runtime::for_instrumented(&instrumented, base_digest.record.clone(), info)?;
    let options = Options { creation, ..Options::default() };
    let mut machine = Machine::new(&runtime, options)?;
    for script in setup {
        machine.eval(script)?;
    }
    machine.keep_for_preinit()?;
    let (store, instance) = machine.store_and_instance();
    let snapshot = block_on(wizer.snapshot(&cx, &mut InstanceState { store, instance })).map_err(Error::wasm)?;
    let made = digest(&snapshot)?;
    if made.code_sha256 != base_digest.code_sha256 {
        return Err(Error::Wasm("wizer changed the code section of the module".into()));
    }
    let setup_sha256 = (!setup.is_empty()).then(|| {
        let mut all = Vec::new();
        for script in setup {
            all.extend_from_slice(script.as_bytes());
            all.push(0);
        }
        sha256_hex(&all)
    });
    let record = PreinitInfo {
        format: PREINIT_FORMAT,
        variant: info.variant.clone(),
        base_sha256: info.sha256.clone(),
        code_sha256: made.code_sha256,
        module_sha256: made.module_sha256,
        creation: creation.fields(),
        setup_sha256,
    };
    let mut out = snapshot;
    let json = serde_json::to_vec(&record)?;
    wasm_encoder::Section::append_to(&wasm_encoder::CustomSection { name: PREINIT_SECTION.into(), data: json.into() }, &mut out);
    Ok(out)
}

/// A machine's instance as [`wasmtime_wizer::InstanceState`]: what
/// [`preinitialize`] snapshots.
struct InstanceState<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
}

impl wasmtime_wizer::InstanceState for InstanceState<'_> {
    async fn global_get(&mut self, name: &str, _type_hint: wasmtime_wizer::ValType) -> wasmtime_wizer::SnapshotVal {
        use wasmtime::Val;
        use wasmtime_wizer::SnapshotVal;
        // wizer asks only for the globals its instrumentation exported.
        let global = self.instance.get_global(&mut *self.store, name).expect("wizer exported this global");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global {name} holds a reference ({other:?}): wizer cannot snapshot it"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("wizer exported this memory");
        contents(memory.data(&*self.store))
    }
}
