//! What a stencil reference means in the VM context: the one place that turns the facts a
//! stencil carries into the [`VmRef`]s, signatures and callees that lowering uses.

use super::{internal, Translator};
use crate::compiled::RelocKind;
use crate::error::CompileError;
use crate::lower::{Callee, Lower, VmRef};
use wasmprecomp_artifact::{FuncType, ValType, FUNCREF_CODE, FUNCREF_VMCTX};

impl<B: Lower> Translator<'_, '_, B> {
    /// Memory reference `index`.
    pub(super) fn memory(&self, index: u32) -> Result<VmRef, CompileError> {
        let f = self
            .stencil
            .refs
            .memories
            .get(index as usize)
            .ok_or_else(|| internal("bad memory reference"))?;
        Ok(VmRef {
            index,
            imported: f.imported,
        })
    }

    /// Table reference `index` and its element type.
    pub(super) fn table(&self, index: u32) -> Result<(VmRef, ValType), CompileError> {
        let f = self
            .stencil
            .refs
            .tables
            .get(index as usize)
            .ok_or_else(|| internal("bad table reference"))?;
        Ok((
            VmRef {
                index,
                imported: f.imported,
            },
            f.elem,
        ))
    }

    /// Global reference `index` and its value type.
    pub(super) fn global(&self, index: u32) -> Result<(VmRef, ValType), CompileError> {
        let g = self
            .stencil
            .refs
            .globals
            .get(index as usize)
            .ok_or_else(|| internal("bad global reference"))?;
        Ok((
            VmRef {
                index,
                imported: g.imported,
            },
            g.ty.ty,
        ))
    }

    /// The signature of type reference `index`.
    pub(super) fn func_type(&self, index: u32) -> Result<FuncType, CompileError> {
        self.stencil
            .refs
            .types
            .get(index as usize)
            .cloned()
            .ok_or_else(|| internal("bad type reference"))
    }

    /// How to call function reference `index`: a defined function directly; an imported
    /// one through the code pointer and VM context of its funcref in the VM context.
    pub(super) fn callee(&mut self, index: u32) -> Result<(FuncType, Callee), CompileError> {
        let f = self
            .stencil
            .refs
            .funcs
            .get(index as usize)
            .cloned()
            .ok_or_else(|| internal("bad function reference"))?;
        if !f.imported {
            return Ok((f.ty, Callee::Direct { func: index }));
        }
        let code = self.isa.vm_load(
            &mut self.ctx,
            RelocKind::VmFuncRef,
            index,
            FUNCREF_CODE as i32,
        );
        let vmctx = self.isa.vm_load(
            &mut self.ctx,
            RelocKind::VmFuncRef,
            index,
            FUNCREF_VMCTX as i32,
        );
        Ok((f.ty, Callee::Indirect { code, vmctx }))
    }

    /// The callee of a funcref (the address of one, in a register).
    pub(super) fn funcref_callee(&mut self, funcref: regalloc2::VReg) -> Callee {
        let code = self
            .isa
            .load_ptr(&mut self.ctx, funcref, FUNCREF_CODE as i32);
        let vmctx = self
            .isa
            .load_ptr(&mut self.ctx, funcref, FUNCREF_VMCTX as i32);
        Callee::Indirect { code, vmctx }
    }
}
