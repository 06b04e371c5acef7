//! aarch64 lowering: 128-bit SIMD is not compiled for this target yet. Validation
//! refuses the `simd` proposal for it ([`crate::isa::Isa::wasm_features`]), so no
//! stencil with a `v128` operation reaches these hooks.

use super::*;
use crate::lower::{Lanes, LowerSimd, VBinOp, VShiftOp, VTernOp, VTestOp, VUnOp};

fn refused() -> ! {
    unreachable!("SIMD stencils are refused for aarch64 before compilation")
}

impl LowerSimd for A64Lower {
    fn v128_const(&mut self, _: C, _: u128) -> VReg {
        refused()
    }
    fn splat(&mut self, _: C, _: Lanes, _: Val) -> VReg {
        refused()
    }
    fn extract_lane(&mut self, _: C, _: Lanes, _: u8, _: bool, _: VReg) -> VReg {
        refused()
    }
    fn replace_lane(&mut self, _: C, _: Lanes, _: u8, _: VReg, _: Val) -> VReg {
        refused()
    }
    fn shuffle(&mut self, _: C, _: VReg, _: VReg, _: [u8; 16]) -> VReg {
        refused()
    }
    fn simd_bin(&mut self, _: C, _: VBinOp, _: Lanes, _: VReg, _: VReg) -> VReg {
        refused()
    }
    fn simd_unary(&mut self, _: C, _: VUnOp, _: Lanes, _: VReg) -> VReg {
        refused()
    }
    fn simd_ternary(&mut self, _: C, _: VTernOp, _: Lanes, _: VReg, _: VReg, _: VReg) -> VReg {
        refused()
    }
    fn simd_shift(&mut self, _: C, _: VShiftOp, _: Lanes, _: VReg, _: Val) -> VReg {
        refused()
    }
    fn simd_test(&mut self, _: C, _: VTestOp, _: Lanes, _: VReg) -> VReg {
        refused()
    }
}
