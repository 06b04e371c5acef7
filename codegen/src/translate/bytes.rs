//! Byte swaps written out as shifts, masks and `or`s.
//!
//! WebAssembly has no byte-swap operator, so a toolchain writes a big-endian load as the
//! load followed by a tree of shifts and rotates by whole bytes, `and`s with byte masks
//! and `or`s (21 operators for an `i64`). The translator follows, for each integer value
//! such an operator computes, where each of its bytes comes from ([`ByteMap`]); when an
//! `or` completes the reversal of every byte of one value, it asks the ISA for one byte
//! swap instead, and the operators that fed it are left without a use, for
//! [`VCodeBuilder::finish`](crate::vcode::VCodeBuilder::finish) to remove.

use crate::lower::{IntBinOp, ShiftOp};
use regalloc2::VReg;

/// A byte that is zero whatever the source.
const ZERO: u8 = u8::MAX;

/// Where each byte of a value of `width` bytes (4 or 8) comes from: byte `i` (from the
/// least significant) is byte `lanes[i]` of `src`, or zero when it is [`ZERO`]. Lanes at
/// and past `width` are unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByteMap {
    pub src: VReg,
    width: u8,
    lanes: [u8; 8],
}

impl ByteMap {
    /// `src` itself.
    pub fn identity(src: VReg, width: u8) -> ByteMap {
        ByteMap {
            src,
            width,
            lanes: [0, 1, 2, 3, 4, 5, 6, 7],
        }
    }

    /// The map of `self op count`, for a shift or rotate by a constant `count` (already
    /// reduced modulo the width) that moves whole bytes; `None` otherwise.
    pub fn shift(self, op: ShiftOp, count: u64) -> Option<ByteMap> {
        if !count.is_multiple_of(8) {
            return None;
        }
        let (n, k) = (self.width as usize, count as usize / 8);
        let mut out = self;
        for i in 0..n {
            out.lanes[i] = match op {
                ShiftOp::Shl if i >= k => self.lanes[i - k],
                ShiftOp::ShrU if i + k < n => self.lanes[i + k],
                ShiftOp::Shl | ShiftOp::ShrU => ZERO,
                ShiftOp::Rotl => self.lanes[(i + n - k) % n],
                ShiftOp::Rotr => self.lanes[(i + k) % n],
                // An arithmetic shift fills with copies of the sign bit, not zeros.
                ShiftOp::ShrS => return None,
            };
        }
        Some(out)
    }

    /// The map of `self op b` for a constant `b`: an `and` with a mask whose every byte is
    /// 0x00 or 0xff; `None` otherwise.
    pub fn with_const(self, op: IntBinOp, b: u64) -> Option<ByteMap> {
        if op != IntBinOp::And {
            return None;
        }
        let mut out = self;
        for i in 0..self.width as usize {
            match (b >> (8 * i)) as u8 {
                0 => out.lanes[i] = ZERO,
                0xff => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// The map of `self op b`: an `or` of two values made of bytes of one source, where
    /// each byte is zero in one of them or the same in both; `None` otherwise.
    pub fn with(self, op: IntBinOp, b: ByteMap) -> Option<ByteMap> {
        if op != IntBinOp::Or || self.src != b.src || self.width != b.width {
            return None;
        }
        let mut out = self;
        for i in 0..self.width as usize {
            out.lanes[i] = match (self.lanes[i], b.lanes[i]) {
                (ZERO, x) | (x, ZERO) => x,
                (x, y) if x == y => x,
                _ => return None,
            };
        }
        Some(out)
    }

    /// Whether the value is `src` with its bytes in reverse order.
    pub fn is_byte_swap(&self) -> bool {
        let n = self.width as usize;
        (0..n).all(|i| self.lanes[i] as usize == n - 1 - i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regalloc2::RegClass;

    fn x(width: u8) -> ByteMap {
        ByteMap::identity(VReg::new(7, RegClass::Int), width)
    }

    fn shl(m: ByteMap, k: u64) -> ByteMap {
        m.shift(ShiftOp::Shl, k).unwrap()
    }

    fn shr(m: ByteMap, k: u64) -> ByteMap {
        m.shift(ShiftOp::ShrU, k).unwrap()
    }

    fn and(m: ByteMap, mask: u64) -> ByteMap {
        m.with_const(IntBinOp::And, mask).unwrap()
    }

    fn or(a: ByteMap, b: ByteMap) -> ByteMap {
        a.with(IntBinOp::Or, b).unwrap()
    }

    fn is_identity(m: ByteMap) -> bool {
        (0..m.width as usize).all(|i| m.lanes[i] as usize == i)
    }

    #[test]
    fn the_i64_shift_and_mask_swap_is_a_byte_swap() {
        // What LLVM writes for `u64::from_be_bytes` on a target without a byte swap.
        let v = x(8);
        let hi = or(
            or(shl(v, 56), shl(and(v, 0xff00), 40)),
            or(shl(and(v, 0xff_0000), 24), shl(and(v, 0xff00_0000), 8)),
        );
        let lo = or(
            or(and(shr(v, 8), 0xff00_0000), and(shr(v, 24), 0xff_0000)),
            or(and(shr(v, 40), 0xff00), shr(v, 56)),
        );
        let swap = or(hi, lo);
        assert!(swap.is_byte_swap());
        assert!(!hi.is_byte_swap() && !lo.is_byte_swap());
    }

    #[test]
    fn the_i32_rotate_and_mask_swap_is_a_byte_swap() {
        let v = x(4);
        let a = and(v, 0x00ff_00ff).shift(ShiftOp::Rotr, 8).unwrap();
        let b = and(v.shift(ShiftOp::Rotr, 24).unwrap(), 0x00ff_00ff);
        assert!(or(a, b).is_byte_swap());
        // rotl by 8 is rotr by 24.
        let c = and(v.shift(ShiftOp::Rotl, 8).unwrap(), 0x00ff_00ff);
        assert_eq!(c, b);
    }

    #[test]
    fn a_partial_or_wrong_swap_is_not_one() {
        let v = x(4);
        // The top two bytes swapped into the bottom, the rest zero.
        assert!(!or(shr(v, 24), and(shr(v, 8), 0xff00)).is_byte_swap());
        // Two bytes from the same lane of different places do not merge.
        assert_eq!(shl(v, 8).with(IntBinOp::Or, v), None);
        // Rotating a whole value leaves it whole, and rotating by 0 is the identity.
        assert!(is_identity(v.shift(ShiftOp::Rotl, 0).unwrap()));
        assert!(!is_identity(v.shift(ShiftOp::Rotl, 16).unwrap()));
    }

    #[test]
    fn only_whole_bytes_and_byte_masks_are_followed() {
        let v = x(8);
        assert_eq!(v.shift(ShiftOp::Shl, 4), None);
        assert_eq!(v.shift(ShiftOp::ShrS, 8), None);
        assert_eq!(v.with_const(IntBinOp::And, 0x0ff0), None);
        assert_eq!(v.with_const(IntBinOp::Or, 0xff), None);
        assert_eq!(v.with(IntBinOp::Xor, v), None);
        let other = ByteMap::identity(VReg::new(8, RegClass::Int), 8);
        assert_eq!(shl(v, 8).with(IntBinOp::Or, shr(other, 56)), None);
        // An `and` with all ones keeps every byte; with zero, none.
        assert!(is_identity(and(v, u64::MAX)));
        assert!(and(v, 0).lanes.iter().all(|&l| l == ZERO));
    }
}
