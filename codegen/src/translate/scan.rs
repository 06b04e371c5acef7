//! Visitors that look at operators without translating them: the pre-pass that finds
//! the locals each construct assigns, and the visitor for unreachable code.

use super::Translator;
use crate::error::CompileError;
use crate::lower::Lower;
use std::rc::Rc;
use wasmparser::{BinaryReader, FunctionBody, VisitOperator, VisitSimdOperator};

/// For each `block`/`loop`/`if` in order of appearance, the locals assigned inside it.
pub(super) fn assigned_locals(
    body: &[u8],
) -> Result<Vec<Rc<[u32]>>, wasmparser::BinaryReaderError> {
    let fb = FunctionBody::new(BinaryReader::new(body, 0));
    let mut reader = fb.get_operators_reader()?;
    let mut scan = AssignScan {
        out: Vec::new(),
        stack: vec![(usize::MAX, Vec::new())],
    };
    while !reader.eof() {
        reader.visit_operator(&mut scan)?;
    }
    Ok(scan.out)
}

struct AssignScan {
    out: Vec<Rc<[u32]>>,
    /// (index in `out`, assigned locals) per open construct; the bottom entry is the
    /// function itself.
    stack: Vec<(usize, Vec<u32>)>,
}

impl AssignScan {
    fn open(&mut self) {
        self.out.push(Rc::from(Vec::new()));
        self.stack.push((self.out.len() - 1, Vec::new()));
    }
    fn assign(&mut self, local: u32) {
        if let Some(top) = self.stack.last_mut() {
            top.1.push(local);
        }
    }
    fn close(&mut self) {
        // The function's own `end` (the bottom entry) has nothing to record.
        if self.stack.len() > 1 {
            let (i, mut set) = self.stack.pop().unwrap_or_default();
            set.sort_unstable();
            set.dedup();
            if let Some(parent) = self.stack.last_mut() {
                parent.1.extend_from_slice(&set);
            }
            self.out[i] = Rc::from(set);
        }
    }
}

macro_rules! assign_scan_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $( assign_scan_ops!(@one $op $visit $($($arg: $argty),*)?); )*
    };
    (@one Block $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) { $(let _ = $arg;)* self.open() }
    };
    (@one Loop $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) { $(let _ = $arg;)* self.open() }
    };
    (@one If $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) { $(let _ = $arg;)* self.open() }
    };
    (@one End $visit:ident) => {
        fn $visit(&mut self) { self.close() }
    };
    (@one LocalSet $visit:ident $arg:ident: $argty:ty) => {
        fn $visit(&mut self, $arg: $argty) { self.assign($arg) }
    };
    (@one LocalTee $visit:ident $arg:ident: $argty:ty) => {
        fn $visit(&mut self, $arg: $argty) { self.assign($arg) }
    };
    (@one $op:ident $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) { $(let _ = $arg;)* }
    };
}

impl<'a> VisitOperator<'a> for AssignScan {
    type Output = ();
    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = ()>> {
        Some(self)
    }
    wasmparser::for_each_visit_operator!(assign_scan_ops);
}

impl VisitSimdOperator<'_> for AssignScan {
    wasmparser::for_each_visit_simd_operator!(assign_scan_ops);
}

/// Visits operators in unreachable code: only the nesting of constructs matters until
/// the `else` or `end` that makes code reachable again.
pub(super) struct Dead<'t, 's, 'b, B: Lower>(pub &'t mut Translator<'s, 'b, B>);

macro_rules! dead_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $( dead_ops!(@one $op $visit $($($arg: $argty),*)?); )*
    };
    (@one Block $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output { $(let _ = $arg;)* self.0.enter_dead() }
    };
    (@one Loop $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output { $(let _ = $arg;)* self.0.enter_dead() }
    };
    (@one If $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output { $(let _ = $arg;)* self.0.enter_dead() }
    };
    (@one Else $visit:ident) => {
        fn $visit(&mut self) -> Self::Output { self.0.else_() }
    };
    (@one End $visit:ident) => {
        fn $visit(&mut self) -> Self::Output { self.0.end() }
    };
    (@one $op:ident $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output { $(let _ = $arg;)* Ok(()) }
    };
}

impl<'a, B: Lower> VisitOperator<'a> for Dead<'_, '_, '_, B> {
    type Output = Result<(), CompileError>;
    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }
    wasmparser::for_each_visit_operator!(dead_ops);
}

impl<B: Lower> VisitSimdOperator<'_> for Dead<'_, '_, '_, B> {
    wasmparser::for_each_visit_simd_operator!(dead_ops);
}
