//! Streams a `multipart/form-data` body into a temp file: `multer` parses it (it needs a `Send`
//! stream, so the socket side pushes pieces through a small bounded channel and the two halves
//! run concurrently in the connection's task); the first part with a file name is the object,
//! written and hashed as it arrives and cut off the moment it exceeds the declared size.

use std::cell::Cell;

use bytes::Bytes;
use futures_channel::mpsc;
use futures_lite::future;

use super::body::{Body, BodyError};
use super::error::UploadError;
use crate::store::temp::TempObject;

/// Form fields without a file name are skipped, up to this many bytes in all.
const MAX_TEXT_FIELDS: u64 = 64 * 1024;

/// The most multer may hold at once that is not file data: part headers, boundaries, text
/// fields, the preamble, plus the pieces in flight. A real form's framing is a few hundred
/// bytes; this is the text-field allowance with room for the pieces in flight.
const MAX_FRAMING: u64 = MAX_TEXT_FIELDS + (IN_FLIGHT as u64 + 2) * super::body::PIECE as u64;

/// Pieces in flight between the socket and the parser.
const IN_FLIGHT: usize = 2;

/// Reads `body` as multipart with `boundary` and writes its file part into `temp`, which must
/// end up no longer than `declared`. Returns whether a file part was found.
pub async fn receive(
    body: &mut Body<'_, '_>,
    boundary: &str,
    temp: &mut TempObject,
    declared: u64,
) -> Result<bool, UploadError> {
    let (mut tx, rx) = mpsc::channel::<Result<Bytes, BodyError>>(IN_FLIGHT);
    let (given, emitted) = (Cell::new(0u64), Cell::new(0u64));
    let (given, emitted) = (&given, &emitted);
    let produce = async move {
        loop {
            let piece = body.next().await;
            let end = !matches!(piece, Ok(Some(_)));
            let item = match piece {
                Ok(Some(b)) => Ok(b),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            // multer keeps every byte it has not matched a boundary or header end in yet: a
            // body without its boundary grew one buffer to the declared size (issue 14, defect
            // 2). What it was given minus what it handed back as field data is what it holds.
            let held = given.get().saturating_sub(emitted.get());
            if held > MAX_FRAMING {
                return Err(UploadError::FramingTooLarge(MAX_FRAMING));
            }
            if let Ok(b) = &item {
                given.set(given.get() + b.len() as u64);
            }
            let ready = future::poll_fn(|cx| tx.poll_ready(cx)).await;
            if ready.is_err() || tx.start_send(item).is_err() || end {
                break;
            }
        }
        // Closing the channel tells the parser the body ended; then wait for it.
        drop(tx);
        future::pending::<Result<bool, UploadError>>().await
    };
    let consume = async move {
        let mut multipart = multer::Multipart::new(rx, boundary);
        let mut found = false;
        let mut text_bytes = 0u64;
        while let Some(mut field) = multipart.next_field().await.map_err(parse_error)? {
            let is_file = field.file_name().is_some();
            if is_file && found {
                return Err(UploadError::TooManyFiles);
            }
            while let Some(chunk) = field.chunk().await.map_err(parse_error)? {
                emitted.set(emitted.get() + chunk.len() as u64);
                if !is_file {
                    text_bytes += chunk.len() as u64;
                    if text_bytes > MAX_TEXT_FIELDS {
                        return Err(UploadError::TooLarge);
                    }
                    continue;
                }
                if temp.len() + chunk.len() as u64 > declared {
                    return Err(UploadError::TooLarge);
                }
                temp.write(&chunk)
                    .await
                    .map_err(|e| UploadError::Internal(format!("writing the upload: {e}")))?;
            }
            found |= is_file;
        }
        Ok(found)
    };
    // The parser's end (or failure) decides; the socket side is dropped with it, mid-read if
    // need be.
    future::or(consume, produce).await
}

fn parse_error(e: multer::Error) -> UploadError {
    match e {
        multer::Error::StreamReadFailed(inner) => match inner.downcast::<BodyError>() {
            Ok(body) => UploadError::from(*body),
            Err(other) => UploadError::Aborted(other.to_string()),
        },
        other => UploadError::Malformed(other.to_string()),
    }
}
