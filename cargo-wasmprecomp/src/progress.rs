//! The progress bar: on stderr, only when it is a terminal and not in CI.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use wasmprecomp_driver::Progress;

/// A bar counting finished modules.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, modules: u64) {
        self.0.set_length(modules);
    }
    fn module_finished(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The bar, when one may be shown: not `quiet`, stderr a terminal, `CI` unset.
pub fn bar(quiet: bool) -> Option<Arc<dyn Progress>> {
    if quiet || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(Arc::new(Bar(b)))
}
