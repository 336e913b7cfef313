//! Pre-initialized modules: a WASI artifact whose linear memory already holds
//! a created XS machine (and, optionally, the state left by setup scripts),
//! so a [`Machine`](crate::Machine) starts without running XS's start-up.
//!
//! Made with [wasmtime-wizer](https://docs.rs/wasmtime-wizer): the artifact
//! is instrumented, instantiated, a machine is created in it and kept
//! (`xs_wasm_keep`, port/xs_wasm.h), the setup scripts run, and the
//! instance's memory and globals become the data segments and global
//! initializers of a new module. The code section is the artifact's, byte
//! for byte. Instances of that module map the memory image copy-on-write, so
//! each machine costs only the pages it writes.
//!
//! Every pre-initialized module carries a custom section
//! [`PREINIT_SECTION`] (JSON, [`PreinitInfo`]) that names the artifact it was
//! made from (its sha256), the creation parameters of the kept machine, the
//! sha256 of the setup scripts and digests of the module's code and of the
//! rest of the module. [`Runtime::from_preinitialized`](crate::Runtime::from_preinitialized)
//! checks them against a known artifact before compiling anything.

pub(crate) mod record;
#[cfg(feature = "preinit")]
mod make;

#[cfg(feature = "preinit")]
pub use make::preinitialize;
pub use record::{PreinitInfo, PREINIT_FORMAT, PREINIT_SECTION};
