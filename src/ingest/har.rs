//! HAR exports (browser devtools and tools) → `Exchange`s, one per entry, with the entry index as
//! locator. (Implemented by the HAR issue.)

use std::io::Read;
use std::sync::Arc;

use super::{IngestConfig, IngestError};
use crate::model::{Exchange, SourceStats};

/// Reads a HAR document, emitting one exchange per entry. Broken JSON fails the file with the
/// JSON error's line and column; entries emitted before it stay emitted.
pub fn read_har(
    _input: &mut dyn Read,
    _source: &Arc<str>,
    _cfg: &IngestConfig,
    _stats: &mut SourceStats,
    _sink: &mut dyn FnMut(Exchange),
) -> Result<(), IngestError> {
    Err(IngestError::Unsupported(
        "HAR reading is not built yet".into(),
    ))
}
