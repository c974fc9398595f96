//! The checks made before an upload's body is read, in Colossus's order, against the placement
//! the control plane pushed (never the chain: the data plane does not talk to it).

use std::time::{Duration, Instant};

use hecaton_shared::{BagId, DataObjectId, StorageBucketId};

use super::error::UploadError;
use crate::http::percent_decode;
use crate::placement::{ObjectEntry, Placement};
use crate::store::Catalog;
use crate::views::Views;

/// The upload's query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `dataObjectId`
    pub id: DataObjectId,
    /// `storageBucketId`
    pub bucket: StorageBucketId,
    /// `bagId`, raw (parsed after the bucket check, as Colossus does).
    pub bag: String,
}

/// Parses `dataObjectId`, `storageBucketId` and `bagId` from a query string (other parameters
/// are ignored).
pub fn parse_query(query: Option<&str>) -> Result<Target, UploadError> {
    let (mut id, mut bucket, mut bag) = (None, None, None);
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "dataObjectId" => id = Some(v),
            "storageBucketId" => bucket = Some(v),
            "bagId" => bag = Some(v),
            _ => {}
        }
    }
    let id = id.ok_or(UploadError::MissingParameter("dataObjectId"))?;
    let bucket = bucket.ok_or(UploadError::MissingParameter("storageBucketId"))?;
    let bag = bag.ok_or(UploadError::MissingParameter("bagId"))?;
    Ok(Target {
        id: id
            .parse()
            .map_err(|_| UploadError::BadParameter("dataObjectId"))?,
        bucket: bucket
            .parse()
            .map_err(|_| UploadError::BadParameter("storageBucketId"))?,
        bag,
    })
}

/// Blocks applied after an upload arrived by which the object it names must have been placed,
/// if it is this node's: the client saw its registering block finalized before sending.
pub const SETTLE_BLOCKS: u64 = 2;

/// How often a waiting upload looks at placement again.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// [`check`], waiting for placement when it may lag the client: before the first placement
/// arrives, or for an object the node does not know (or whose bag it does not know) with an id
/// above every id placed here, the upload waits until it appears, [`SETTLE_BLOCKS`] more blocks
/// are applied, or `wait` is over; then Colossus's answer. Anything else answers at once.
pub async fn check_settled(
    target: &Target,
    views: &Views,
    wait: Duration,
) -> Result<(BagId, ObjectEntry), UploadError> {
    let until = Instant::now() + wait;
    let mut first_block = None;
    loop {
        let placement = views.placement();
        let answer = check(target, placement.as_deref(), &views.catalog());
        let Some(p) = placement.as_deref() else {
            // No placement yet: the data plane has just started and its control plane has not
            // sent the snapshot. The upload waits for it, within the same bound.
            if Instant::now() < until {
                glommio::timer::sleep(SETTLE_POLL).await;
                continue;
            }
            return answer;
        };
        let first = *first_block.get_or_insert(p.block);
        let lagging = matches!(
            answer,
            Err(UploadError::UnknownObject { .. } | UploadError::BagNotInBucket { .. })
        ) && p.may_come(target.id)
            && p.block < first + SETTLE_BLOCKS
            && Instant::now() < until;
        if !lagging {
            return answer;
        }
        glommio::timer::sleep(SETTLE_POLL).await;
    }
}

/// Checks an upload against placement and the catalog; on success, the object as declared.
pub fn check(
    target: &Target,
    placement: Option<&Placement>,
    catalog: &Catalog,
) -> Result<(BagId, ObjectEntry), UploadError> {
    let placement = placement.ok_or(UploadError::NotAccepting)?;
    let accepting = placement
        .bucket(target.bucket)
        .ok_or(UploadError::NotAccepting)?;
    let bag: BagId = target
        .bag
        .parse()
        .map_err(|e| UploadError::BadBag(format!("{e}")))?;
    let stored = placement
        .bag(&bag)
        .is_some_and(|b| b.buckets.contains(&target.bucket));
    if !stored {
        return Err(UploadError::BagNotInBucket {
            bag,
            bucket: target.bucket,
        });
    }
    if !accepting {
        return Err(UploadError::BucketNotOperated);
    }
    if placement.globals.uploading_blocked {
        return Err(UploadError::UploadingBlocked);
    }
    let object = placement
        .object(target.id)
        .filter(|o| o.bag == bag)
        .ok_or(UploadError::UnknownObject { id: target.id, bag })?;
    let declared = object.content_id.to_string();
    if placement.globals.blacklist.contains(&declared) {
        return Err(UploadError::Blacklisted {
            id: target.id,
            content_id: declared,
        });
    }
    if catalog.contains(target.id) {
        return Err(UploadError::AlreadyStored(target.id));
    }
    Ok((bag, object))
}

/// Checks that a resumable upload of `id` may continue: placement still declares the object,
/// uploads are open, its content is not blacklisted and it is not stored yet.
pub fn check_continuation(
    id: DataObjectId,
    placement: Option<&Placement>,
    catalog: &Catalog,
) -> Result<ObjectEntry, UploadError> {
    let placement = placement.ok_or(UploadError::NotAccepting)?;
    if placement.globals.uploading_blocked {
        return Err(UploadError::UploadingBlocked);
    }
    let object = placement.object(id).ok_or(UploadError::Gone(id))?;
    let declared = object.content_id.to_string();
    if placement.globals.blacklist.contains(&declared) {
        return Err(UploadError::Blacklisted {
            id,
            content_id: declared,
        });
    }
    if catalog.contains(id) {
        return Err(UploadError::AlreadyStored(id));
    }
    Ok(object.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters() {
        let t = parse_query(Some(
            "dataObjectId=7&storageBucketId=0&bagId=dynamic%3Achannel%3A1&x=y",
        ))
        .unwrap();
        assert_eq!(t.id, DataObjectId(7));
        assert_eq!(t.bucket, StorageBucketId(0));
        assert_eq!(t.bag, "dynamic:channel:1");
        assert!(matches!(
            parse_query(Some("storageBucketId=0&bagId=x")),
            Err(UploadError::MissingParameter("dataObjectId"))
        ));
        assert!(matches!(
            parse_query(Some("dataObjectId=-1&storageBucketId=0&bagId=x")),
            Err(UploadError::BadParameter("dataObjectId"))
        ));
        assert!(matches!(
            parse_query(None),
            Err(UploadError::MissingParameter(_))
        ));
    }
}
