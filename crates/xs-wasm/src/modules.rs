//! Host-loaded ES modules: the [`ModuleLoader`] a machine asks for the
//! modules its code imports, and [`FsLoader`], a loader of files under one
//! root directory (the command line's).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// A module's text and what it is, as a [`ModuleLoader`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// JavaScript module code (strict, with `import`, `export` and top-level `await`).
    Js(String),
    /// A JSON module: its text is JSON and its default export is the parsed
    /// value. Importing it needs `with { type: "json" }` (and such an import
    /// of a [`ModuleSource::Js`] module fails).
    Json(String),
}

/// The host's module loader: what a machine asks when its code imports a
/// module (a static `import`, `import()` from a script or a module, or
/// [`Machine::import`](crate::Machine::import)). Set it with
/// [`Machine::set_module_loader`](crate::Machine::set_module_loader).
///
/// The machine keeps each module by its id: `resolve` is called for every
/// import, `load` once per id; a module that failed to load or to evaluate
/// stays failed in that machine. An `Err(message)` of either method fails
/// the import with a `TypeError` carrying the message (the machine stays
/// usable); a panic does too, and the call then ends with
/// [`Error::HostPanic`](crate::Error::HostPanic).
///
/// Both methods run on the calling thread, inside the machine's call: their
/// time counts against [`Options::deadline`](crate::Options::deadline), but
/// they are not interrupted (a loader that never returns hangs the call: it
/// is the host's code, bound it yourself).
pub trait ModuleLoader: Send {
    /// The id of the module `specifier` names when the module whose id is
    /// `referrer` imports it (`None`: a script or the host imports it). The
    /// same id is the same module; it is the module's `import.meta.uri`.
    ///
    /// # Errors
    ///
    /// A message for the guest's `TypeError` (e.g. a bare specifier without
    /// a mapping, a path outside the loader's root).
    fn resolve(&mut self, specifier: &str, referrer: Option<&str>) -> std::result::Result<String, String>;

    /// The source of the module `id` (as `resolve` gave it).
    ///
    /// # Errors
    ///
    /// A message for the guest's `TypeError` (e.g. the file does not exist).
    fn load(&mut self, id: &str) -> std::result::Result<ModuleSource, String>;
}

/// A [`ModuleLoader`] made of two closures (see [`module_loader`]).
pub struct FnLoader<R, L> {
    resolve: R,
    load: L,
}

impl<R, L> std::fmt::Debug for FnLoader<R, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnLoader")
    }
}

/// A [`ModuleLoader`] of two closures: `resolve(specifier, referrer)` and
/// `load(id)`, with the meaning of [`ModuleLoader::resolve`] and
/// [`ModuleLoader::load`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), xs_wasm::Error> {
/// use serde_json::json;
/// use xs_wasm::{module_loader, Machine, ModuleSource, Options, Runtime};
/// let mut machine = Machine::new(&Runtime::new()?, Options::default())?;
/// machine.set_module_loader(module_loader(
///     |specifier, _referrer| Ok(specifier.to_owned()),
///     |id| match id {
///         "answer" => Ok(ModuleSource::Js("export default 6 * 7;".into())),
///         other => Err(format!("no module {other}")),
///     },
/// ));
/// assert_eq!(machine.import("answer")?, json!({ "default": 42 }));
/// # Ok(())
/// # }
/// ```
pub fn module_loader<R, L>(resolve: R, load: L) -> FnLoader<R, L>
where
    R: FnMut(&str, Option<&str>) -> std::result::Result<String, String> + Send,
    L: FnMut(&str) -> std::result::Result<ModuleSource, String> + Send,
{
    FnLoader { resolve, load }
}

impl<R, L> ModuleLoader for FnLoader<R, L>
where
    R: FnMut(&str, Option<&str>) -> std::result::Result<String, String> + Send,
    L: FnMut(&str) -> std::result::Result<ModuleSource, String> + Send,
{
    fn resolve(&mut self, specifier: &str, referrer: Option<&str>) -> std::result::Result<String, String> {
        (self.resolve)(specifier, referrer)
    }

    fn load(&mut self, id: &str) -> std::result::Result<ModuleSource, String> {
        (self.load)(id)
    }
}

/// A [`ModuleLoader`] of the files under one root directory.
///
/// Module ids are paths relative to the root, written with a leading `/`
/// and `/` separators (`/lib/util.mjs`), so that no host path reaches the
/// guest. Specifiers:
/// - `./x.mjs`, `../x.mjs`: relative to the importing module's directory
///   (for a script or [`Machine::import`](crate::Machine::import): to the
///   root, or the directory [`FsLoader::with_base`] gives);
/// - `/x.mjs`: relative to the root;
/// - anything else (a bare specifier, `lodash`) only through a mapping
///   ([`FsLoader::map`]), else an error naming it.
///
/// A specifier whose path leaves the root (by `..` or through a symbolic
/// link) is refused with an error naming it. Files ending in `.json` are
/// JSON modules, every other file JavaScript module code; the text must be
/// UTF-8.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use xs_wasm::{FsLoader, ModuleLoader, ModuleSource};
/// let dir = std::env::temp_dir().join(format!("xs-wasm-fsloader-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("lib"))?;
/// std::fs::write(dir.join("lib/a.mjs"), "export default 1;")?;
/// let mut loader = FsLoader::new(&dir)?;
/// assert_eq!(loader.resolve("./lib/a.mjs", None)?, "/lib/a.mjs");
/// assert_eq!(loader.resolve("./a.mjs", Some("/lib/main.mjs"))?, "/lib/a.mjs");
/// assert_eq!(loader.load("/lib/a.mjs")?, ModuleSource::Js("export default 1;".into()));
/// assert!(loader.resolve("../../etc/passwd", Some("/lib/a.mjs")).unwrap_err().contains("outside the root"));
/// assert!(loader.resolve("lodash", None).unwrap_err().contains("\"lodash\""));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FsLoader {
    root: PathBuf,
    base: String,
    mappings: BTreeMap<String, String>,
}

impl FsLoader {
    /// A loader of the files under `root` (a directory).
    ///
    /// # Errors
    ///
    /// An I/O error when `root` does not exist or is not a directory.
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<FsLoader> {
        let root = root.as_ref().canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, format!("{} is not a directory", root.display())));
        }
        Ok(FsLoader { root, base: String::new(), mappings: BTreeMap::new() })
    }

    /// Resolve the `./` and `../` specifiers of scripts (`import()` in a
    /// script, [`Machine::import`](crate::Machine::import)) from the
    /// directory `dir` (an id: `/` + its path under the root, e.g. `/src`)
    /// instead of the root.
    pub fn with_base(mut self, dir: &str) -> FsLoader {
        self.base = dir.trim_end_matches('/').to_owned();
        self
    }

    /// Map the bare specifier `name` (`lodash`) to `target`, a specifier
    /// resolved from the root (`./vendor/lodash.mjs` or `/vendor/lodash.mjs`).
    pub fn map(mut self, name: impl Into<String>, target: impl Into<String>) -> FsLoader {
        self.mappings.insert(name.into(), target.into());
        self
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The id of the file at `path` (absolute, under the root).
    fn id_of(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let mut id = String::new();
        for part in relative.components() {
            id.push('/');
            id.push_str(part.as_os_str().to_str()?);
        }
        Some(if id.is_empty() { "/".into() } else { id })
    }
}

impl ModuleLoader for FsLoader {
    fn resolve(&mut self, specifier: &str, referrer: Option<&str>) -> std::result::Result<String, String> {
        let from = referrer.map_or_else(|| "the root".to_owned(), |r| format!("\"{r}\""));
        let (target, base) = if specifier.starts_with("./") || specifier.starts_with("../") {
            // the importing module's directory, as an id ("/lib")
            let dir = match referrer {
                Some(r) => r.rsplit_once('/').map(|(d, _)| d.to_owned()).unwrap_or_default(),
                None => self.base.clone(),
            };
            (specifier.to_owned(), dir)
        } else if specifier.starts_with('/') {
            (specifier.to_owned(), String::new())
        } else if let Some(target) = self.mappings.get(specifier) {
            (target.clone(), String::new())
        } else {
            return Err(format!("cannot import \"{specifier}\" from {from}: a bare specifier without a mapping (only \"./\", \"../\" and \"/\" specifiers are resolved, and mapped names)"));
        };
        // lexical resolution inside the root: ".." may not climb above it
        let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(format!("cannot import \"{specifier}\" from {from}: the path is outside the root"));
                    }
                }
                other => parts.push(other),
            }
        }
        let mut path = self.root.clone();
        for part in &parts {
            let component = Path::new(part);
            if component.components().count() != 1 || !matches!(component.components().next(), Some(Component::Normal(_))) {
                return Err(format!("cannot import \"{specifier}\" from {from}: \"{part}\" is not a file name"));
            }
            path.push(part);
        }
        let id = format!("/{}", parts.join("/"));
        // a symbolic link may lead out of the root: the file itself must be under it
        let real = path.canonicalize().map_err(|e| format!("cannot import \"{specifier}\" from {from}: no module {id} under the root ({e})"))?;
        if !real.starts_with(&self.root) {
            return Err(format!("cannot import \"{specifier}\" from {from}: the path is outside the root (a link leads out of it)"));
        }
        if !real.is_file() {
            return Err(format!("cannot import \"{specifier}\" from {from}: {id} is not a file"));
        }
        Ok(id)
    }

    fn load(&mut self, id: &str) -> std::result::Result<ModuleSource, String> {
        let path = self.root.join(id.trim_start_matches('/'));
        let real = path.canonicalize().map_err(|e| format!("cannot load {id}: {e}"))?;
        if !real.starts_with(&self.root) || self.id_of(&real).is_none() {
            return Err(format!("cannot load {id}: the path is outside the root"));
        }
        let bytes = std::fs::read(&real).map_err(|e| format!("cannot load {id}: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("cannot load {id}: the file is not UTF-8 text"))?;
        Ok(if id.ends_with(".json") { ModuleSource::Json(text) } else { ModuleSource::Js(text) })
    }
}
