//! Code both plugins use: identical functions in two modules hit the same cache entries.

/// FNV-1a over bytes.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Words of a text, lowercased, without punctuation.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(|c| c.to_lowercase())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

pub const TEXT: &str = "WebAssembly modules compiled ahead of time run natively. \
A function compiled once is never compiled again: not in the same module, not in \
another module of the workspace, not in the next build.";
