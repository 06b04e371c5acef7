//! Runs a plugin with a typed host function, a fuel budget and a memory limit.
//!
//! `cargo wasmprecomp --interruption fuel` writes `plugin.wpc`; the plugin imports
//! `host::log(ptr, len)` and exports `run(i32) -> i32`.

use wasmprecomp_runtime::{
    Caller, Engine, Interruption, Linker, Module, Store, StoreLimits, Trap, TrapKind,
};

/// Calls the plugin's `run(n)` with 1,000,000 units of fuel and 16 MiB per memory.
pub fn run_plugin(path: &str, n: i32) -> Result<i32, Box<dyn std::error::Error>> {
    // SAFETY: the artifact is this application's own build output, written by wasmprecomp.
    let module = unsafe { Module::from_file(path)? };
    let fuel = Interruption {
        fuel: true,
        epoch: false,
    };
    let mut store = Store::with_interruption(&Engine::new(), fuel);
    store.set_limiter(StoreLimits::new().memory_size(16 << 20));
    store.set_fuel(1_000_000)?;

    let mut linker = Linker::new();
    linker.func_wrap(
        &mut store,
        "host",
        "log",
        |caller: &mut Caller, ptr: u32, len: u32| -> Result<(), Trap> {
            let memory = caller
                .get_memory("memory")
                .ok_or_else(|| Trap::host("the plugin exports no memory"))?;
            let bytes = caller
                .store
                .memory_data(memory)
                .get(ptr as usize..ptr as usize + len as usize)
                .ok_or_else(|| Trap::host("log: bytes out of bounds"))?;
            println!("plugin: {}", String::from_utf8_lossy(bytes));
            Ok(())
        },
    );
    let instance = linker.instantiate(&mut store, &module)?;
    let run = store
        .get_func(instance, "run")
        .ok_or("the plugin exports no `run`")?
        .typed::<i32, i32>(&store)?;
    match run.call(&mut store, n) {
        Ok(result) => Ok(result),
        Err(t) if t.kind == TrapKind::OutOfFuel => Err("the plugin ran out of fuel".into()),
        Err(t) => Err(t.into()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "plugin.wpc".into());
    println!("run(10) = {}", run_plugin(&path, 10)?);
    Ok(())
}
