//! The CPU features an artifact may require, as this host has them: what the runtime
//! checks before loading an artifact and what the compiler's `--target-cpu native`
//! resolves from, by the names artifact headers use (those of
//! `is_x86_feature_detected!` and `is_aarch64_feature_detected!`).

/// Whether this host's CPU has `feature`; `false` for a name this function does not know.
#[cfg(target_arch = "x86_64")]
pub fn host_has_cpu_feature(feature: &str) -> bool {
    match feature {
        "sse4.1" => std::arch::is_x86_feature_detected!("sse4.1"),
        "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
        "popcnt" => std::arch::is_x86_feature_detected!("popcnt"),
        "lzcnt" => std::arch::is_x86_feature_detected!("lzcnt"),
        "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
        "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
        "fma" => std::arch::is_x86_feature_detected!("fma"),
        "avx" => std::arch::is_x86_feature_detected!("avx"),
        "avx2" => std::arch::is_x86_feature_detected!("avx2"),
        _ => false,
    }
}

/// Whether this host's CPU has `feature`; `false` for a name this function does not know.
#[cfg(target_arch = "aarch64")]
pub fn host_has_cpu_feature(feature: &str) -> bool {
    match feature {
        "neon" => std::arch::is_aarch64_feature_detected!("neon"),
        "fp" => std::arch::is_aarch64_feature_detected!("fp"),
        "lse" => std::arch::is_aarch64_feature_detected!("lse"),
        "crc" => std::arch::is_aarch64_feature_detected!("crc"),
        "rcpc" => std::arch::is_aarch64_feature_detected!("rcpc"),
        "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
        "fp16" => std::arch::is_aarch64_feature_detected!("fp16"),
        "aes" => std::arch::is_aarch64_feature_detected!("aes"),
        "sha2" => std::arch::is_aarch64_feature_detected!("sha2"),
        _ => false,
    }
}

/// Whether this host's CPU has `feature`: no feature is known on other architectures.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn host_has_cpu_feature(_feature: &str) -> bool {
    false
}
