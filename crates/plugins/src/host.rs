//! The wasmtime host: one engine, modules compiled once, a fresh store and instance per call
//! with its own fuel, memory cap and deadline.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{
    Caller, Config, Engine, ExternType, InstancePre, Linker, Module, ResourceLimiter, Store, Trap,
};

use crate::{Limits, Permission, PluginError};

/// How often the deadline clock ticks.
const TICK: Duration = Duration::from_millis(2);
/// The only import module a plugin may use.
const HOST_MODULE: &str = "storefort";

/// Runs plugins. Holds the engine and the thread that drives the deadline clock.
pub struct Host {
    engine: Engine,
    limits: Limits,
    stop: Arc<AtomicBool>,
}

/// A plugin compiled once, with the permissions the owner granted it.
pub struct Plugin {
    module: Module,
    /// Imports already resolved, so a call only instantiates.
    pre: InstancePre<State>,
}

impl Plugin {
    /// Does the module export a function with this name?
    pub fn exports(&self, name: &str) -> bool {
        self.module
            .exports()
            .any(|e| e.name() == name && matches!(e.ty(), ExternType::Func(_)))
    }
}

/// Per-call state: the memory cap and whether the plugin hit it.
struct State {
    max_memory: usize,
    hit_memory_cap: bool,
    /// `storefort.log` calls left in this call.
    logs_left: u32,
}

/// Most `storefort.log` lines one call may write.
const MAX_LOG_LINES: u32 = 10;

impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit_memory_cap = true;
            return Err(wasmtime::Error::msg("memory cap reached"));
        }
        Ok(true)
    }

    // One instance with one memory and few tables: the memory cap then bounds the whole call.
    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Host {
    /// A host with these limits; starts the deadline clock.
    pub fn new(limits: Limits) -> Result<Host, PluginError> {
        let mut c = Config::new();
        c.consume_fuel(true);
        c.epoch_interruption(true);
        c.max_wasm_stack(512 * 1024);
        // One linear memory per module, so the memory cap is the whole plugin's memory.
        c.wasm_multi_memory(false);
        let engine = Engine::new(&c).map_err(|e| PluginError::Invalid(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (clock, done) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("plugin-clock".into())
            .spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    clock.increment_epoch();
                }
            })
            .map_err(|e| PluginError::Invalid(format!("cannot start the plugin clock: {e}")))?;
        Ok(Host {
            engine,
            limits,
            stop,
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compile a module once. Refused: not WebAssembly, an import the permissions do not
    /// grant (only `storefort.log` is always there), no `memory` or `alloc` export.
    pub fn load(&self, wasm: &[u8], granted: &[Permission]) -> Result<Plugin, PluginError> {
        let module =
            Module::new(&self.engine, wasm).map_err(|e| PluginError::Invalid(format!("{e:#}")))?;
        for imp in module.imports() {
            let allowed = imp.module() == HOST_MODULE
                && (imp.name() == "log" || granted.iter().any(|p| p.import() == Some(imp.name())));
            if !allowed {
                return Err(PluginError::ImportNotGranted {
                    module: imp.module().to_string(),
                    name: imp.name().to_string(),
                });
            }
        }
        let export = |name: &str| module.exports().find(|e| e.name() == name).map(|e| e.ty());
        if !matches!(export("memory"), Some(ExternType::Memory(_))) {
            return Err(PluginError::MissingExport("memory".into()));
        }
        if !matches!(export("alloc"), Some(ExternType::Func(_))) {
            return Err(PluginError::MissingExport("alloc(i32) -> i32".into()));
        }
        let pre = self
            .linker(granted)?
            .instantiate_pre(&module)
            .map_err(|e| PluginError::Invalid(format!("{e:#}")))?;
        Ok(Plugin { module, pre })
    }

    /// Call `hook` with `input`; its output JSON. Every limit is enforced; any failure is an
    /// error for the caller to log and skip (the hook's fallback).
    pub fn call(
        &self,
        p: &Plugin,
        hook: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, PluginError> {
        let bytes = serde_json::to_vec(input).map_err(|e| PluginError::BadOutput(e.to_string()))?;
        if bytes.len() > self.limits.max_input {
            return Err(PluginError::InputTooLarge(bytes.len()));
        }
        let mut store = Store::new(
            &self.engine,
            State {
                max_memory: self.limits.memory_bytes,
                hit_memory_cap: false,
                logs_left: MAX_LOG_LINES,
            },
        );
        store.limiter(|s| s);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| PluginError::Trap(e.to_string()))?;
        let ticks = self
            .limits
            .deadline
            .as_millis()
            .div_ceil(TICK.as_millis())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let result = self.run(&mut store, p, hook, &bytes);
        result.map_err(|e| match e {
            Failure::Plugin(p) => p,
            Failure::Wasm(e) => self.classify(&store, &e),
        })
    }

    fn run(
        &self,
        store: &mut Store<State>,
        p: &Plugin,
        hook: &str,
        input: &[u8],
    ) -> Result<serde_json::Value, Failure> {
        let instance = p.pre.instantiate(&mut *store)?;
        let memory = instance
            .get_memory(&mut *store, "memory")
            .ok_or_else(|| PluginError::MissingExport("memory".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut *store, "alloc")
            .map_err(|_| PluginError::MissingExport("alloc(i32) -> i32".into()))?;
        let f = instance
            .get_typed_func::<(i32, i32), i64>(&mut *store, hook)
            .map_err(|_| PluginError::MissingExport(format!("{hook}(i32, i32) -> i64")))?;
        let len =
            i32::try_from(input.len()).map_err(|_| PluginError::InputTooLarge(input.len()))?;
        let ptr = alloc.call(&mut *store, len)?;
        memory
            .write(&mut *store, ptr as u32 as usize, input)
            .map_err(|_| {
                PluginError::BadOutput("alloc returned an address outside memory".into())
            })?;
        let packed = f.call(&mut *store, (ptr, len))? as u64;
        let (at, n) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        if n > self.limits.max_output {
            return Err(PluginError::OutputTooLarge(n).into());
        }
        let mut out = vec![0u8; n];
        memory
            .read(&*store, at, &mut out)
            .map_err(|_| PluginError::BadOutput("the output points outside memory".into()))?;
        serde_json::from_slice(&out)
            .map_err(|e| PluginError::BadOutput(format!("not JSON: {e}")).into())
    }

    /// Only the imports the permissions grant are defined (load refused the rest already).
    fn linker(&self, granted: &[Permission]) -> Result<Linker<State>, PluginError> {
        let mut l = Linker::new(&self.engine);
        let err = |e: wasmtime::Error| PluginError::Invalid(e.to_string());
        l.func_wrap(HOST_MODULE, "log", log).map_err(err)?;
        if granted.contains(&Permission::Clock) {
            l.func_wrap(HOST_MODULE, "clock_ms", || -> i64 {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0)
            })
            .map_err(err)?;
        }
        if granted.contains(&Permission::Random) {
            l.func_wrap(HOST_MODULE, "random_u64", random_u64)
                .map_err(err)?;
        }
        Ok(l)
    }

    fn classify(&self, store: &Store<State>, e: &wasmtime::Error) -> PluginError {
        if store.data().hit_memory_cap {
            return PluginError::MemoryLimit(self.limits.memory_bytes);
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel(self.limits.fuel),
            Some(Trap::Interrupt) => PluginError::Deadline(self.limits.deadline.as_millis()),
            Some(t) => PluginError::Trap(t.to_string()),
            None => PluginError::Trap(format!("{e:#}")),
        }
    }
}

/// A failure inside a call: ours, or wasmtime's (classified with the store's state).
enum Failure {
    Plugin(PluginError),
    Wasm(wasmtime::Error),
}

impl From<PluginError> for Failure {
    fn from(e: PluginError) -> Self {
        Failure::Plugin(e)
    }
}

impl From<wasmtime::Error> for Failure {
    fn from(e: wasmtime::Error) -> Self {
        Failure::Wasm(e)
    }
}

/// `storefort.log(ptr, len)`: up to 1 kB of text into the shop's log, at most
/// [`MAX_LOG_LINES`] lines per call, control characters replaced (no forged log lines).
fn log(mut caller: Caller<'_, State>, ptr: i32, len: i32) {
    if caller.data().logs_left == 0 {
        return;
    }
    caller.data_mut().logs_left -= 1;
    let Some(mem) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return;
    };
    let n = (len.max(0) as usize).min(1024);
    let mut buf = vec![0u8; n];
    if mem.read(&caller, ptr as u32 as usize, &mut buf).is_ok() {
        let text: String = String::from_utf8_lossy(&buf)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        tracing::info!(plugin_log = ?text, "plugin");
    }
}

/// `storefort.random_u64()`: a random number (from the standard library's per-process keys).
fn random_u64() -> i64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish() as i64
}
