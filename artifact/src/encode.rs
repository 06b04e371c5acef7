//! A small, explicit little-endian binary encoding used for metadata and cache payloads.
//!
//! Hand-written rather than serde-based so the byte layout is obvious, stable, and cheap
//! to decode on the cache hit path.

use thiserror::Error;

/// Appends little-endian values to a byte vector.
#[derive(Default, Debug, Clone)]
pub struct Writer {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.bytes.push(v as u8);
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// A length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.bytes.extend_from_slice(v);
    }
    /// An unsigned LEB128 number: one byte up to 127, a byte more per 7 bits.
    pub fn uleb(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }
    /// A signed number as the [`Writer::uleb`] of its zigzag encoding (small magnitudes
    /// of either sign are short).
    pub fn sleb(&mut self, v: i64) {
        self.uleb(((v << 1) ^ (v >> 63)) as u64);
    }
    /// Raw bytes, no length prefix.
    pub fn raw(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                self.u64(x);
            }
        }
    }
    pub fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                self.u32(x);
            }
        }
    }
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// An error decoding metadata or a cache payload: the data is truncated or malformed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed data at byte {offset}: {what}")]
pub struct DecodeError {
    pub offset: usize,
    pub what: &'static str,
}

/// Reads what [`Writer`] wrote. Every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    pub fn position(&self) -> usize {
        self.pos
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            what,
        }
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.data.len() - self.pos < n {
            return Err(self.err("unexpected end"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.err("bad bool")),
        }
    }
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// What [`Writer::uleb`] wrote: at most ten bytes, no bits past the 64th.
    pub fn uleb(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && bits > 1 {
                return Err(self.err("LEB128 number past 64 bits"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("LEB128 number longer than ten bytes"))
    }
    /// What [`Writer::sleb`] wrote.
    pub fn sleb(&mut self) -> Result<i64, DecodeError> {
        let z = self.uleb()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<String, DecodeError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(|s| s.to_string())
            .map_err(|_| self.err("bad utf-8"))
    }
    pub fn opt_u64(&mut self) -> Result<Option<u64>, DecodeError> {
        Ok(if self.bool()? {
            Some(self.u64()?)
        } else {
            None
        })
    }
    pub fn opt_u32(&mut self) -> Result<Option<u32>, DecodeError> {
        Ok(if self.bool()? {
            Some(self.u32()?)
        } else {
            None
        })
    }
    /// Reads a count and checks it is plausible for the remaining data, so a corrupt
    /// length cannot make us allocate gigabytes.
    pub fn count(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_size.max(1)) > self.data.len() - self.pos {
            return Err(self.err("count exceeds data"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_numbers_read_back_as_written_and_malformed_ones_are_errors() {
        let unsigned = [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let signed = [
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            i32::MIN as i64,
            i64::MIN,
            i64::MAX,
        ];
        let mut w = Writer::new();
        unsigned.iter().for_each(|&v| w.uleb(v));
        signed.iter().for_each(|&v| w.sleb(v));
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        for &v in &unsigned {
            assert_eq!(r.uleb(), Ok(v));
        }
        for &v in &signed {
            assert_eq!(r.sleb(), Ok(v));
        }
        assert!(r.is_empty());
        let mut one = Writer::new();
        one.uleb(127);
        one.sleb(-64);
        assert_eq!(one.finish(), [127, 127], "one byte each");
        assert!(Reader::new(&[0x80; 11]).uleb().is_err(), "eleven bytes");
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .uleb()
                .is_err(),
            "65 bits"
        );
        assert!(Reader::new(&[0x80, 0x80]).uleb().is_err(), "truncated");
    }
}
