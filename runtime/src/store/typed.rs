//! Typed functions: host functions from Rust closures ([`Func::wrap`]) and calls with
//! Rust argument and result types ([`TypedFunc`]), both moving values through a
//! fixed-size array of slots on the stack instead of a `Vec<Val>` per call.

use super::func::{Caller, Func, HostCallable, TypedHostFunc};
use super::StoreData;
use crate::{Trap, ValType};
use std::marker::PhantomData;
use std::sync::Arc;
use thiserror::Error;
use wasmprecomp_artifact::FuncType;

/// The most parameters or results a typed function has.
pub const MAX_TYPED_ARITY: usize = 8;

/// A Rust type that is one WebAssembly value: `i32` and `u32` are `i32`, `i64` and `u64`
/// are `i64`, `f32` and `f64` themselves.
pub trait WasmTy: Copy + Send + 'static + sealed::Sealed {
    /// The WebAssembly type.
    const TYPE: ValType;
    #[doc(hidden)]
    fn to_slot(self) -> u128;
    #[doc(hidden)]
    fn from_slot(bits: u128) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, |$v:ident| $to:expr, |$b:ident| $from:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl WasmTy for $t {
            const TYPE: ValType = ValType::$vt;
            fn to_slot(self) -> u128 {
                let $v = self;
                $to
            }
            fn from_slot($b: u128) -> Self {
                $from
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |v| v as u32 as u128, |b| b as u32 as i32;
    u32 => I32, |v| v as u128, |b| b as u32;
    i64 => I64, |v| v as u64 as u128, |b| b as u64 as i64;
    u64 => I64, |v| v as u128, |b| b as u64;
    f32 => F32, |v| v.to_bits() as u128, |b| f32::from_bits(b as u32);
    f64 => F64, |v| v.to_bits() as u128, |b| f64::from_bits(b as u64);
}

/// A list of WebAssembly values as Rust values: `()`, one [`WasmTy`], or a tuple of up
/// to [`MAX_TYPED_ARITY`] of them. The parameters and results of typed functions.
pub trait WasmTyList: Sized + Send + 'static + sealed::Sealed {
    /// The number of values.
    const LEN: usize;
    /// Their WebAssembly types, in order.
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn store(self, slots: &mut [u128]);
    #[doc(hidden)]
    fn load(slots: &[u128]) -> Self;
}

impl<T: WasmTy> WasmTyList for T {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn store(self, slots: &mut [u128]) {
        slots[0] = self.to_slot();
    }
    fn load(slots: &[u128]) -> Self {
        T::from_slot(slots[0])
    }
}

macro_rules! ty_list {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<$($t: WasmTy),*> sealed::Sealed for ($($t,)*) {}
        impl<$($t: WasmTy),*> WasmTyList for ($($t,)*) {
            const LEN: usize = $n;
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables)]
            fn store(self, slots: &mut [u128]) {
                $(slots[$i] = self.$i.to_slot();)*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn load(slots: &[u128]) -> Self {
                ($($t::from_slot(slots[$i]),)*)
            }
        }
    };
}

ty_list!(0;);
ty_list!(1; A 0);
ty_list!(2; A 0, B 1);
ty_list!(3; A 0, B 1, C 2);
ty_list!(4; A 0, B 1, C 2, D 3);
ty_list!(5; A 0, B 1, C 2, D 3, E 4);
ty_list!(6; A 0, B 1, C 2, D 3, E 4, F 5);
ty_list!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
ty_list!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// What a host closure may return: results ([`WasmTyList`]) or `Result` of them with a
/// [`Trap`] (which the calling code then raises).
pub trait HostResult: Send + 'static + sealed::Sealed {
    /// The results' list type.
    type Results: WasmTyList;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results, Trap>;
}

impl<R: WasmTyList> HostResult for R {
    type Results = R;
    fn into_result(self) -> Result<R, Trap> {
        Ok(self)
    }
}

impl<R: WasmTyList> sealed::Sealed for Result<R, Trap> {}
impl<R: WasmTyList> HostResult for Result<R, Trap> {
    type Results = R;
    fn into_result(self) -> Result<R, Trap> {
        self
    }
}

/// A Rust closure that can be a host function: `Fn(A1, .., An) -> R` or
/// `Fn(&mut Caller, A1, .., An) -> R` with each `Ai` a [`WasmTy`], `n` up to
/// [`MAX_TYPED_ARITY`], and `R` a [`HostResult`]. `Params` tells the two forms apart.
pub trait IntoFunc<Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_host(self) -> (FuncType, TypedHostFunc);
}

/// Marks the closures that take the [`Caller`] first (see [`IntoFunc`]).
pub struct WithCaller<P>(PhantomData<P>);

macro_rules! into_func {
    ($($t:ident $i:tt),*) => {
        impl<F, $($t: WasmTy,)* R> IntoFunc<($($t,)*), R> for F
        where
            F: Fn($($t),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            fn into_host(self) -> (FuncType, TypedHostFunc) {
                let ty = FuncType {
                    params: <($($t,)*) as WasmTyList>::types(),
                    results: R::Results::types(),
                };
                let f: TypedHostFunc = Arc::new(move |_caller, slots| {
                    #[allow(unused_variables)]
                    let args = <($($t,)*) as WasmTyList>::load(slots);
                    self($(args.$i),*).into_result()?.store(slots);
                    Ok(())
                });
                (ty, f)
            }
        }

        impl<F, $($t: WasmTy,)* R> IntoFunc<WithCaller<($($t,)*)>, R> for F
        where
            F: for<'a, 'b> Fn(&'a mut Caller<'b>, $($t),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            fn into_host(self) -> (FuncType, TypedHostFunc) {
                let ty = FuncType {
                    params: <($($t,)*) as WasmTyList>::types(),
                    results: R::Results::types(),
                };
                let f: TypedHostFunc = Arc::new(move |caller, slots| {
                    #[allow(unused_variables)]
                    let args = <($($t,)*) as WasmTyList>::load(slots);
                    self(caller, $(args.$i),*).into_result()?.store(slots);
                    Ok(())
                });
                (ty, f)
            }
        }
    };
}

into_func!();
into_func!(A 0);
into_func!(A 0, B 1);
into_func!(A 0, B 1, C 2);
into_func!(A 0, B 1, C 2, D 3);
into_func!(A 0, B 1, C 2, D 3, E 4);
into_func!(A 0, B 1, C 2, D 3, E 4, G 5);
into_func!(A 0, B 1, C 2, D 3, E 4, G 5, H 6);
into_func!(A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7);

impl Func {
    /// A host function from a Rust closure whose argument and result types give its
    /// WebAssembly type: `Func::wrap(&mut store, |a: i32, b: i32| a + b)` is
    /// `(i32, i32) -> (i32)`. A closure may take `&mut Caller` first, to reach the store
    /// and the calling instance, and may return `Result<_, Trap>` to trap. Linking checks
    /// the type against the import's, as for every function.
    pub fn wrap<Params, Results>(store: &mut StoreData, f: impl IntoFunc<Params, Results>) -> Func {
        let (ty, f) = f.into_host();
        store.new_host_func(ty, HostCallable::Typed(f))
    }

    /// This function as a [`TypedFunc`] with parameters `P` and results `R`, when its type
    /// is exactly theirs.
    ///
    /// # Panics
    ///
    /// When the function comes from another store.
    #[track_caller]
    pub fn typed<P: WasmTyList, R: WasmTyList>(
        self,
        store: &StoreData,
    ) -> Result<TypedFunc<P, R>, FuncTypeError> {
        let actual = store.func_type(self);
        let expected = FuncType {
            params: P::types(),
            results: R::types(),
        };
        if *actual != expected {
            return Err(FuncTypeError {
                actual: actual.clone(),
                expected,
            });
        }
        Ok(TypedFunc {
            func: self,
            _types: PhantomData,
        })
    }
}

/// A typed use of a function whose type differs from it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("function has type {actual}, not {expected} as its typed use asks")]
pub struct FuncTypeError {
    /// The function's type.
    pub actual: FuncType,
    /// The type of the typed use.
    pub expected: FuncType,
}

/// A function whose type was checked once ([`Func::typed`]): calls take and return Rust
/// values, without a type check or an allocation per call.
pub struct TypedFunc<P, R> {
    func: Func,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmTyList, R: WasmTyList> TypedFunc<P, R> {
    /// The untyped handle.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Calls the function with `params`.
    ///
    /// # Panics
    ///
    /// When the function comes from another store.
    #[track_caller]
    pub fn call(&self, store: &mut StoreData, params: P) -> Result<R, Trap> {
        store.inner().check(self.func);
        let mut slots = [0u128; MAX_TYPED_ARITY];
        params.store(&mut slots);
        store.call_slots(self.func, &mut slots)?;
        Ok(R::load(&slots))
    }
}

const _: () = assert!(MAX_TYPED_ARITY >= 1);

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .finish()
    }
}
