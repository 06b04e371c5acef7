//! The fault handler behind guard-page bounds checks.
//!
//! Code compiled with `bounds_checks=guard` accesses memory without comparing the address
//! with the memory's length: every 32-bit memory is a reservation of
//! [`MEMORY_RESERVATION`](wasmprecomp_artifact::MEMORY_RESERVATION) bytes, inaccessible
//! past its current length, so an access outside the memory faults. The handler installed
//! here for `SIGSEGV` and `SIGBUS` turns such a fault into the trap the explicit check
//! would have raised, when all of these hold:
//!
//! - the thread is running compiled code of a store (set by [`Running`] around each
//!   entry, per thread, so stores on several threads each see their own faults);
//! - the faulting instruction is a memory access site in that store's code (a trap site
//!   of kind `MemoryOutOfBounds` at exactly that address);
//! - the faulting address lies in one of that store's memory reservations.
//!
//! Then it makes the interrupted code call the raise routine as a trap stub would: the
//! faulting address becomes the call's return address, the trap site (pushed on x86-64,
//! in the link register `x30` on aarch64), and the VM context is taken from the faulting
//! function's frame (`[rbp - 8]` on x86-64, `[x29 - 8]` on aarch64, where every prologue
//! keeps it) into the protocol's `RAISE_VMCTX`. Any other fault goes to the handler that
//! was installed before this one (or the default action), so a host program's own
//! handlers, and Rust's stack-overflow report, keep working. The handler runs on an
//! alternate signal stack, which the runtime gives every thread that enters compiled code
//! and does not have one.

use crate::entry::wasmprecomp_rt_raise;
use crate::store::StoreInner;
use std::cell::Cell;
use std::sync::OnceLock;

/// Bytes of each thread's alternate signal stack.
const ALT_STACK: usize = 64 << 10;

thread_local! {
    /// The store whose compiled code this thread runs (innermost entry), or null.
    static RUNNING: Cell<*const StoreInner> = const { Cell::new(std::ptr::null()) };
    /// This thread's alternate signal stack, when the runtime made it.
    static ALT: AltStack = const { AltStack { base: Cell::new(std::ptr::null_mut()) } };
}

/// The handlers that were installed before ours.
struct Previous {
    segv: libc::sigaction,
    bus: libc::sigaction,
}

static PREVIOUS: OnceLock<Previous> = OnceLock::new();

/// Marks the current thread as running compiled code of `state` until dropped (entries
/// nest: the previous store comes back).
pub(crate) struct Running {
    prev: *const StoreInner,
}

impl Running {
    pub(crate) fn enter(state: *const StoreInner) -> Running {
        install();
        ALT.with(AltStack::ensure);
        Running {
            prev: RUNNING.with(|r| r.replace(state)),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.prev));
    }
}

struct AltStack {
    base: Cell<*mut libc::c_void>,
}

impl AltStack {
    /// Gives this thread an alternate signal stack unless it has one.
    fn ensure(&self) {
        if !self.base.get().is_null() {
            return;
        }
        // SAFETY: `stack_t` is plain data; all zeroes is a valid value.
        let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current alternate stack writes only `old`.
        if unsafe { libc::sigaltstack(std::ptr::null(), &mut old) } != 0 {
            return;
        }
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK {
            return;
        }
        // SAFETY: a fresh private mapping, owned by this thread's `AltStack`.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ALT_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: p,
            ss_flags: 0,
            ss_size: ALT_STACK,
        };
        // SAFETY: `st` describes the mapping just made, which lives until this thread's
        // `AltStack` drops and takes the alternate stack down first.
        if unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) } != 0 {
            // SAFETY: unmapping the mapping just made, unused.
            unsafe { libc::munmap(p, ALT_STACK) };
            return;
        }
        self.base.set(p);
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let p = self.base.get();
        if p.is_null() {
            return;
        }
        let off = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: the thread is ending and runs no compiled code: the stack is not in
        // use; it is disabled before it is unmapped.
        unsafe {
            libc::sigaltstack(&off, std::ptr::null_mut());
            libc::munmap(p, ALT_STACK);
        }
    }
}

/// Installs the handler once per process, keeping the previous ones.
fn install() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: `sigaction` with a handler of the right signature; the previous actions
        // are written to zeroed structs we own.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            let mut segv: libc::sigaction = std::mem::zeroed();
            let mut bus: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGSEGV, &action, &mut segv);
            libc::sigaction(libc::SIGBUS, &action, &mut bus);
            Previous { segv, bus }
        }
    });
}

unsafe extern "C" fn on_fault(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo and ucontext to an SA_SIGINFO handler.
    let (uc, addr) = unsafe {
        (
            &mut *(ctx as *mut libc::ucontext_t),
            (*info).si_addr() as usize,
        )
    };
    let pc = interrupted_pc(uc);
    let state = RUNNING.with(|r| r.get());
    // SAFETY: a non-null `RUNNING` is the state of the store whose compiled code this
    // thread is running; nothing holds a reference into it while compiled code runs.
    if !state.is_null() && unsafe { (*state).is_guard_fault(pc, addr) } {
        // SAFETY: the fault is at a memory access of a compiled function body (checked
        // just above), which is what `call_raise` needs.
        unsafe { call_raise(uc, pc) };
        return;
    }
    // SAFETY: forwarding the signal as the kernel delivered it.
    unsafe { forward(sig, info, ctx) }
}

/// The address of the instruction that faulted.
#[cfg(target_arch = "x86_64")]
fn interrupted_pc(uc: &libc::ucontext_t) -> usize {
    uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize
}

/// Makes the interrupted code resume in the raise routine as if the faulting instruction
/// at `pc` had been a trap stub's call: `pc` pushed as the return address, the VM context
/// from `[rbp - 8]` in `rdi`.
///
/// # Safety
///
/// `uc` must be the interrupted context of a fault at a memory access of a compiled
/// function body.
#[cfg(target_arch = "x86_64")]
unsafe fn call_raise(uc: &mut libc::ucontext_t, pc: usize) {
    use wasmprecomp_artifact::abi::x86_64::{RAISE_VMCTX, RDI};
    const _: () = assert!(
        RAISE_VMCTX == RDI,
        "the handler sets the raise routine's context in rdi"
    );
    let gregs = &mut uc.uc_mcontext.gregs;
    let rsp = gregs[libc::REG_RSP as usize] as usize - 8;
    let rbp = gregs[libc::REG_RBP as usize] as usize;
    // SAFETY: a compiled function body's frame holds the VM context at `[rbp - 8]`, and
    // the stack below `rsp` is free (compiled code uses no red zone); the push is what a
    // trap stub's call does.
    unsafe {
        *(rsp as *mut usize) = pc;
        gregs[libc::REG_RDI as usize] = *((rbp - 8) as *const i64);
    }
    gregs[libc::REG_RSP as usize] = rsp as i64;
    gregs[libc::REG_RIP as usize] = wasmprecomp_rt_raise as *const () as usize as i64;
}

/// The address of the instruction that faulted.
#[cfg(target_arch = "aarch64")]
fn interrupted_pc(uc: &libc::ucontext_t) -> usize {
    uc.uc_mcontext.pc as usize
}

/// Makes the interrupted code resume in the raise routine as if the faulting instruction
/// at `pc` had been a trap stub's `blr`: `pc` in the link register as the return
/// address, the VM context from `[x29 - 8]` in `RAISE_VMCTX`. The stack pointer stays
/// as it was: the raise routine takes the entry's from the store.
///
/// # Safety
///
/// `uc` must be the interrupted context of a fault at a memory access of a compiled
/// function body.
#[cfg(target_arch = "aarch64")]
unsafe fn call_raise(uc: &mut libc::ucontext_t, pc: usize) {
    use wasmprecomp_artifact::abi::aarch64::{FP, LR, RAISE_VMCTX};
    let regs = &mut uc.uc_mcontext.regs;
    let fp = regs[FP as usize] as usize;
    // SAFETY: a compiled function body's frame holds the VM context at `[x29 - 8]`.
    regs[RAISE_VMCTX as usize] = unsafe { *((fp - 8) as *const u64) };
    regs[LR as usize] = pc as u64;
    uc.uc_mcontext.pc = wasmprecomp_rt_raise as *const () as usize as u64;
}

/// Hands a fault that is not ours to the handler installed before ours.
unsafe fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(prev) = PREVIOUS.get() else {
        return;
    };
    let p = if sig == libc::SIGBUS {
        &prev.bus
    } else {
        &prev.segv
    };
    if p.sa_sigaction == libc::SIG_DFL || p.sa_sigaction == libc::SIG_IGN {
        // Return with the default action in place: the instruction faults again and the
        // process ends the way it would have without us.
        // SAFETY: resetting the disposition of a signal to its default.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    } else if p.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: an SA_SIGINFO handler has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(p.sa_sigaction) };
        f(sig, info, ctx);
    } else {
        // SAFETY: a plain handler has this signature.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
        f(sig);
    }
}
