//! Every way an upload ends other than 201, with its status and the Colossus error text
//! (Colossus 4.x), so existing clients (joystream-cli, Atlas) read them as they
//! read Colossus's. Where Colossus answers 500 for a client's mistake or a race we answer the
//! status that says what happened.

use hecaton_shared::{BagId, DataObjectId, StorageBucketId};

/// Why an upload was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A required query parameter is missing.
    #[error("request.query should have required property '{0}'")]
    MissingParameter(&'static str),
    /// A query parameter is malformed.
    #[error("request.query.{0} should match pattern \"^\\d+$\"")]
    BadParameter(&'static str),
    /// No placement yet, or the bucket is not one of this node's.
    #[error("Server is not accepting uploads into this bucket")]
    NotAccepting,
    /// The bag id does not parse.
    #[error("Invalid bagId: {0}")]
    BadBag(String),
    /// The bag is not stored by the bucket.
    #[error("Storage bag {bag} is not assigned to storage bucket {bucket}.")]
    BagNotInBucket {
        /// The bag.
        bag: BagId,
        /// The bucket.
        bucket: StorageBucketId,
    },
    /// The bucket is this node's but its operator is not active (invited, removed, off).
    #[error("Incorrect storage bucket ID.")]
    BucketNotOperated,
    /// The chain's upload switch is on.
    #[error("Uploading is blocked on chain.")]
    UploadingBlocked,
    /// The object is not in the bag.
    #[error("Data object {id} doesn't exist in storage bag {bag}")]
    UnknownObject {
        /// The object.
        id: DataObjectId,
        /// The bag.
        bag: BagId,
    },
    /// The object's declared content is blacklisted.
    #[error("Data object {id} has blacklisted content {content_id}.")]
    Blacklisted {
        /// The object.
        id: DataObjectId,
        /// Its declared content id.
        content_id: String,
    },
    /// The object is already published here.
    #[error("Data object {0} already exists (in storage)")]
    AlreadyStored(DataObjectId),
    /// Another upload of the object is in progress.
    #[error("Data object {0} is being uploaded by another request")]
    InProgress(DataObjectId),
    /// The body is not `multipart/form-data` with a boundary.
    #[error("unsupported media type: uploads are multipart/form-data")]
    NotMultipart,
    /// The body length is not announced.
    #[error("Content-Length is required")]
    LengthRequired,
    /// The body is longer than the object can be (or a file longer than declared).
    #[error("File too large")]
    TooLarge,
    /// More than one file in the body.
    #[error("Too many files")]
    TooManyFiles,
    /// The body is not valid multipart.
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    /// The shard's upload memory is taken.
    #[error("Server is busy with other uploads; retry later")]
    Busy,
    /// No file part in the body.
    #[error("No file uploaded")]
    NoFile,
    /// The file's size is not the declared size.
    #[error("File size doesn't match the data object's size for data object ID = {0}")]
    SizeMismatch(DataObjectId),
    /// The file's content id is not the declared one.
    #[error(
        "File multihash doesn't match the data object's ipfsContentId for data object ID = {0}"
    )]
    HashMismatch(DataObjectId),
    /// A resumable upload whose object the chain no longer declares (or that never existed).
    #[error("Upload of data object {0} not found (the object does not exist on chain or its upload was not created)")]
    Gone(DataObjectId),
    /// A tus URL that names no upload (not the `<id>.<created>.<token>` a creation gave).
    #[error("Upload not found")]
    NoSuchUpload,
    /// A tus request without `Tus-Resumable: 1.0.0`.
    #[error("Tus-Resumable 1.0.0 required")]
    TusVersion,
    /// A tus header is missing or malformed.
    #[error("{0} header missing or not a decimal number")]
    TusHeader(&'static str),
    /// `Upload-Offset` is not where the upload is.
    #[error("Upload-Offset {sent} does not match the upload's offset {actual}")]
    OffsetMismatch {
        /// What the client sent.
        sent: u64,
        /// Where the upload is.
        actual: u64,
    },
    /// A PATCH body that is not `application/offset+octet-stream`.
    #[error("PATCH bodies are application/offset+octet-stream")]
    NotOffsetStream,
    /// The body arrived slower than the minimum rate, or stopped.
    #[error("Upload too slow: {0}")]
    TooSlow(String),
    /// The store's filesystem has no room for the object above its reserve.
    #[error("Not enough free space on the storage node for {0} bytes; retry later or elsewhere")]
    InsufficientStorage(u64),
    /// The multipart framing around the file is larger than any real client sends.
    #[error("multipart framing exceeds {0} bytes without a file part")]
    FramingTooLarge(u64),
    /// The client went away; nothing can be answered.
    #[error("Upload aborted: {0}")]
    Aborted(String),
    /// The store failed.
    #[error("Node failure: {0}")]
    Internal(String),
}

impl UploadError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        use UploadError::*;
        match self {
            NotAccepting | UploadingBlocked | Busy => 503,
            InProgress(_) | OffsetMismatch { .. } => 409,
            Gone(_) | NoSuchUpload => 404,
            TusVersion => 412,
            NotMultipart | NotOffsetStream => 415,
            LengthRequired => 411,
            TooLarge | TooManyFiles => 413,
            TooSlow(_) => 408,
            InsufficientStorage(_) => 507,
            Aborted(_) | Internal(_) => 500,
            _ => 400,
        }
    }

    /// The `type` of the JSON error body: schema and body-framing problems are the request
    /// validator's in Colossus, the rest the upload handler's.
    pub fn kind(&self) -> &'static str {
        use UploadError::*;
        match self {
            MissingParameter(_)
            | BadParameter(_)
            | NotMultipart
            | LengthRequired
            | TooLarge
            | TooManyFiles
            | Malformed(_)
            | FramingTooLarge(_)
            | TooSlow(_)
            | Aborted(_)
            | TusVersion
            | TusHeader(_)
            | OffsetMismatch { .. }
            | NotOffsetStream => "request_exception",
            _ => "upload",
        }
    }

    /// The `message` of the JSON error body (the handler's carry Colossus's `Error: ` prefix).
    pub fn message(&self) -> String {
        if self.kind() == "upload" {
            format!("Error: {self}")
        } else {
            self.to_string()
        }
    }

    /// Whether the client should retry later (`Retry-After`).
    pub fn retry_later(&self) -> bool {
        matches!(
            self,
            UploadError::NotAccepting
                | UploadError::Busy
                | UploadError::InProgress(_)
                | UploadError::InsufficientStorage(_)
        )
    }
}

impl From<super::body::BodyError> for UploadError {
    /// A body that came too slowly is the client's fault and answered (408); one whose client
    /// went away or whose socket failed cannot be answered.
    fn from(e: super::body::BodyError) -> Self {
        match e {
            e @ super::body::BodyError::Stalled { .. } => UploadError::TooSlow(e.to_string()),
            other => UploadError::Aborted(other.to_string()),
        }
    }
}
