//! Photos of a clue: field-verification and rectification evidence. A photo is stored under a
//! folder the server chooses (its data folder), named by the SHA-256 of its bytes
//! (`ab/abcdef….jpg`), never by anything the client sent; at most [`MAX_PHOTO_BYTES`]; JPEG,
//! PNG or WebP as told by its first bytes (the client's content type is ignored); EXIF left as
//! it is. Who may see the clue may see its photos; who may work on it (`ClueRight::Work`) may
//! add them. Each upload is audited (`clue.photo`). Workflow steps refer to photos by id
//! ([`crate::StepRequest::photos`]).

use std::path::{Path, PathBuf};

use onemap_access::Acting;
use onemap_schemas::authz::{can_act_on_clue, ClueRight};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient, Row};

use crate::{LedgerError, LedgerResult};

/// The largest photo accepted: 10 MiB.
pub const MAX_PHOTO_BYTES: usize = 10 << 20;

/// One photo of a clue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Photo {
    pub id: i64,
    pub clue: i64,
    pub sha256: String,
    pub media_type: String,
    pub bytes: i64,
    pub caption: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

impl Photo {
    fn from_row(r: &Row) -> Self {
        Self {
            id: r.get("id"),
            clue: r.get("clue"),
            sha256: r.get("sha256"),
            media_type: r.get("media_type"),
            bytes: r.get("bytes"),
            caption: r.get("caption"),
            uploaded_by: r.get("uploaded_by"),
            uploaded_at: r.get("uploaded_at"),
        }
    }

    /// Where the file lives under `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        file_path(dir, &self.sha256, &self.media_type)
    }
}

fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

fn file_path(dir: &Path, sha256: &str, media_type: &str) -> PathBuf {
    dir.join(&sha256[..2])
        .join(format!("{sha256}.{}", extension(media_type)))
}

/// The media type of an image by its magic bytes: JPEG, PNG or WebP, else `None`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The clue's photos, oldest first (the caller has been authorized for the clue).
pub async fn list(client: &impl GenericClient, clue: i64) -> LedgerResult<Vec<Photo>> {
    Ok(client
        .query(include_str!("sql/photos.sql"), &[&clue, &None::<i64>])
        .await
        .map_err(LedgerError::pg("reading the clue's photos"))?
        .iter()
        .map(Photo::from_row)
        .collect())
}

/// Checks that `who` may add photos to clue `id`: 404 unless they see it, 403 unless they may
/// work on it. Call it before reading an upload's body.
pub async fn authorize_upload(
    client: &impl GenericClient,
    who: &onemap_access::Principal,
    id: i64,
) -> LedgerResult<()> {
    let clue = crate::clues::get(client, who, id).await?;
    if can_act_on_clue(who, ClueRight::Work, &clue.departments()) {
        Ok(())
    } else {
        Err(LedgerError::Forbidden(format!(
            "only editors of the clue's departments ({}) or of the coordinating office add photos",
            clue.departments().join(", ")
        )))
    }
}

/// Stores `bytes` as a photo of clue `id` under `dir` as `acting` (authorized again here), and
/// records it with an audit entry. The same picture twice on one clue is the same photo.
#[tracing::instrument(skip_all, fields(clue = id, bytes = bytes.len()))]
pub async fn add(
    client: &mut Client,
    acting: &Acting,
    dir: &Path,
    id: i64,
    bytes: &[u8],
    caption: &str,
) -> LedgerResult<Photo> {
    authorize_upload(&*client, &acting.who, id).await?;
    if bytes.is_empty() {
        return Err(LedgerError::Invalid("the photo is empty".into()));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(LedgerError::Invalid(format!(
            "the photo has {} bytes, more than the {} allowed",
            bytes.len(),
            MAX_PHOTO_BYTES
        )));
    }
    let media_type = sniff(bytes)
        .ok_or_else(|| LedgerError::Invalid("the photo is not a JPEG, PNG or WebP image".into()))?;
    let caption = caption.trim();
    if caption.chars().count() > 1000 {
        return Err(LedgerError::Invalid(
            "the caption is longer than 1000 characters".into(),
        ));
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    let path = file_path(dir, &sha256, media_type);
    let io = |e: std::io::Error| LedgerError::Invalid(format!("storing the photo: {e}"));
    if !path.exists() {
        let folder = path.parent().unwrap_or(dir);
        write_atomically(folder, &path, bytes).map_err(io)?;
    }
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the upload"))?;
    let target = format!("clue:{id}");
    let seq = onemap_access::audit::append(
        &tx,
        acting,
        "clue.photo",
        Some(&target),
        &json!({"sha256": sha256, "media_type": media_type, "bytes": bytes.len(), "caption": caption}),
    )
    .await?;
    let row = tx
        .query_one(
            include_str!("sql/photo_insert.sql"),
            &[
                &id,
                &sha256,
                &media_type,
                &(bytes.len() as i64),
                &caption,
                &acting.who.name(),
                &seq,
            ],
        )
        .await
        .map_err(LedgerError::pg("recording the photo"))?;
    tx.commit()
        .await
        .map_err(LedgerError::pg("committing the upload"))?;
    Ok(Photo::from_row(&row))
}

/// Writes the file through a temporary name and renames it, so a reader never sees half a
/// photo.
fn write_atomically(folder: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(folder)?;
    let mut tmp = tempfile_in(folder)?;
    tmp.1.write_all(bytes)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)
}

fn tempfile_in(folder: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = folder.join(format!(".upload-{}-{nanos}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

/// Photo `photo` of clue `id` and its bytes, if `who` may see the clue (404 otherwise, and for
/// a photo of another clue).
pub async fn open(
    client: &impl GenericClient,
    who: &onemap_access::Principal,
    dir: &Path,
    id: i64,
    photo: i64,
) -> LedgerResult<(Photo, Vec<u8>)> {
    crate::clues::get(client, who, id).await?;
    let not_found = || LedgerError::NotFound(format!("no photo {photo} on clue {id}"));
    let row = client
        .query_opt(include_str!("sql/photos.sql"), &[&id, &Some(photo)])
        .await
        .map_err(LedgerError::pg("reading the photo"))?
        .ok_or_else(not_found)?;
    let p = Photo::from_row(&row);
    let bytes = std::fs::read(p.path(dir)).map_err(|e| {
        tracing::error!(photo, error = %e, "a recorded photo's file is missing");
        not_found()
    })?;
    Ok((p, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jpeg_png_and_webp_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn files_are_named_by_their_hash_only() {
        let sha = "ab".repeat(32);
        let p = file_path(Path::new("/data/photos"), &sha, "image/png");
        assert_eq!(p, Path::new("/data/photos/ab").join(format!("{sha}.png")));
    }
}
