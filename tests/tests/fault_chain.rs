//! A host program's own SIGSEGV handler, installed before the runtime's, still gets the
//! faults that are not guard-page bounds checks of compiled code. (A test binary of its
//! own: signal dispositions are process-wide.)

use std::sync::atomic::{AtomicUsize, Ordering};
use wasmprecomp_codegen::BoundsChecks;
use wasmprecomp_runtime::{Linker, Store, TrapKind, Val};
use wasmprecomp_tests::compile_bounds;

static HOST_FAULTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn host_handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    HOST_FAULTS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn the_host_handler_installed_before_still_gets_other_faults() {
    // SAFETY: installing a handler that only counts; `raise` below delivers the signal
    // synchronously without a faulting instruction to return to.
    unsafe {
        let mut a: libc::sigaction = std::mem::zeroed();
        a.sa_sigaction = host_handler as *const () as usize;
        a.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut a.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGSEGV, &a, std::ptr::null_mut()), 0);
    }
    let m = compile_bounds(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))"#,
        BoundsChecks::Guard,
    );
    let mut store = Store::new();
    let inst = Linker::new()
        .instantiate(&mut store, &m)
        .expect("instantiate");
    let f = store.get_func(inst, "f").expect("f");
    for round in 1..=3 {
        let t = store
            .call(f, &[Val::I32(1 << 20)])
            .expect_err("out of bounds");
        assert_eq!(t.kind, TrapKind::MemoryOutOfBounds);
        assert_eq!(HOST_FAULTS.load(Ordering::SeqCst), round - 1);
        // SAFETY: raising a signal whose handler is installed.
        assert_eq!(unsafe { libc::raise(libc::SIGSEGV) }, 0);
        assert_eq!(HOST_FAULTS.load(Ordering::SeqCst), round);
    }
    assert_eq!(
        store.call(f, &[Val::I32(8)]).expect("in bounds"),
        vec![Val::I32(0)]
    );
}
