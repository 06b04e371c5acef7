//! Guest memory and arguments as the WASI functions read them: every pointer and length
//! checked, `EFAULT` instead of a host crash.

use super::{errno, Errno, WasiResult};
use crate::Val;

/// A bounds-checked view of linear memory.
pub(super) struct Mem<'a>(pub(super) &'a mut [u8]);

impl Mem<'_> {
    fn range(&self, ptr: u32, len: u64) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as u64;
        let end = start.checked_add(len).ok_or(errno::FAULT)?;
        if end > self.0.len() as u64 {
            return Err(errno::FAULT);
        }
        Ok(start as usize..end as usize)
    }
    pub fn check(&self, ptr: u32, len: u64) -> WasiResult {
        self.range(ptr, len).map(|_| ())
    }
    pub fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len as u64)?;
        Ok(&self.0[r])
    }
    pub fn bytes_mut(&mut self, ptr: u32, len: u64) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.0[r])
    }
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let b = self.bytes(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        let b = self.bytes(ptr, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        let b = self.bytes(ptr, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub fn write(&mut self, ptr: u32, data: &[u8]) -> WasiResult {
        self.bytes_mut(ptr, data.len() as u64)?
            .copy_from_slice(data);
        Ok(())
    }
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult {
        self.write(ptr, &v.to_le_bytes())
    }
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult {
        self.write(ptr, &v.to_le_bytes())
    }
    /// Address of the byte `off` past `base`, if it fits in 32 bits.
    pub fn offset(base: u32, off: u64) -> Result<u32, Errno> {
        u32::try_from(base as u64 + off).map_err(|_| errno::FAULT)
    }
    /// Reads and checks an array of `n` (buffer, length) pairs at `iovs`.
    pub fn iovecs(&self, iovs: u32, n: u32) -> Result<Vec<(u32, u32)>, Errno> {
        self.check(iovs, n as u64 * 8)?;
        let mut v = Vec::with_capacity(n as usize);
        for i in 0..n as u64 {
            let at = Self::offset(iovs, i * 8)?;
            let buf = self.read_u32(at)?;
            let len = self.read_u32(Self::offset(at, 4)?)?;
            self.check(buf, len as u64)?;
            v.push((buf, len));
        }
        Ok(v)
    }
}

/// Arguments of a host call, read without panicking.
pub(super) struct Args<'a>(pub(super) &'a [Val]);

impl Args<'_> {
    pub fn u32(&self, i: usize) -> u32 {
        match self.0.get(i) {
            Some(Val::I32(v)) => *v as u32,
            _ => 0,
        }
    }
    pub fn u64(&self, i: usize) -> u64 {
        match self.0.get(i) {
            Some(Val::I64(v)) => *v as u64,
            _ => 0,
        }
    }
}
