//! Downloading a bill straight into an [`AsyncWrite`] (a temporary file, say) as it arrives:
//! gzip is undone and the SHA1 computed chunk by chunk, so a bill of a million rows never sits in
//! memory. The hash is known only at the end: a bill that does not match is already written when
//! [`Error::BillHashMismatch`] comes back, and the caller throws the file away.

use std::io::Write;
use std::time::Duration;

use flate2::write::GzDecoder;
use http::Method;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::bills::{BillLocation, TarType};
use crate::client::{Client, read_raw, upstream_error};
use crate::error::{Error, Result};
use channel_core::TransportError;

/// The configured timeout covers a whole request, which suits a JSON answer but would cut off a
/// large bill: a download gets this long instead.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What a finished download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillDownload {
    /// Bytes of bill text written (after decompression).
    pub bytes: u64,
    /// Their SHA1 in lower-case hex: the one the application announced.
    pub sha1: String,
}

impl Client {
    /// Downloads the bill at `location` into `out`, decompressing it on the way if it was applied
    /// for with `tar_type`, and checks the SHA1 of what was written. `out` is flushed, not closed.
    ///
    /// # Errors
    /// [`Error::BillHashMismatch`] when the text is not the announced one (it has been written
    /// all the same: discard it); `Decode` for a hash type other than SHA1 or a broken gzip
    /// stream; `Upstream` for a refused download; `Transport` for a broken transfer, and for a
    /// failure to write `out` (either way the download did not complete: start it again).
    pub async fn download_bill_to<W>(
        &self,
        location: &BillLocation,
        tar_type: Option<TarType>,
        out: &mut W,
    ) -> Result<BillDownload>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        if !location.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(Error::decode("bill hash_type", &location.hash_type));
        }
        let url = url::Url::parse(&location.download_url)
            .map_err(|e| Error::decode("bill download_url", e))?;
        let mut response = self
            .send_for_response(Method::GET, url, Vec::new(), Some(DOWNLOAD_TIMEOUT))
            .await?;
        if !response.status().is_success() {
            let refused = upstream_error(read_raw(response).await?).err();
            return Err(refused.unwrap_or_else(|| Error::decode("bill download", "no status")));
        }
        let mut stream = BillStream::new(tar_type);
        while let Some(chunk) = response.chunk().await.map_err(TransportError::from)? {
            write(out, stream.push(&chunk)?).await?;
        }
        write(out, stream.finish()?).await?;
        out.flush().await.map_err(write_failed)?;
        let download = stream.digest();
        if download
            .sha1
            .eq_ignore_ascii_case(location.hash_value.trim())
        {
            Ok(download)
        } else {
            Err(Error::BillHashMismatch {
                expected: location.hash_value.clone(),
                actual: download.sha1,
            })
        }
    }
}

async fn write<W: AsyncWrite + Unpin + ?Sized>(out: &mut W, text: &[u8]) -> Result<()> {
    out.write_all(text).await.map_err(write_failed)
}

fn write_failed(e: std::io::Error) -> Error {
    Error::Transport(TransportError::Other(format!("writing the bill: {e}")))
}

/// Turns the body's chunks into bill text and hashes it. Holds only the text of the chunk at hand.
pub(crate) struct BillStream {
    gzip: Option<GzDecoder<Vec<u8>>>,
    hasher: Sha1,
    bytes: u64,
}

impl BillStream {
    pub fn new(tar_type: Option<TarType>) -> Self {
        Self {
            gzip: tar_type.map(|TarType::Gzip| GzDecoder::new(Vec::new())),
            hasher: Sha1::new(),
            bytes: 0,
        }
    }

    /// The bill text in the next chunk of the body.
    pub fn push<'a>(&'a mut self, chunk: &'a [u8]) -> Result<&'a [u8]> {
        let text = match &mut self.gzip {
            None => chunk,
            Some(gzip) => {
                gzip.get_mut().clear();
                gzip.write_all(chunk)
                    .map_err(|e| Error::decode("gzip bill", e))?;
                gzip.get_ref().as_slice()
            }
        };
        self.hasher.update(text);
        self.bytes += text.len() as u64;
        Ok(text)
    }

    /// The text still held back at the end of the body; a gzip stream that stops short is an
    /// error here.
    pub fn finish(&mut self) -> Result<&[u8]> {
        let Some(gzip) = &mut self.gzip else {
            return Ok(&[]);
        };
        gzip.get_mut().clear();
        gzip.try_finish()
            .map_err(|e| Error::decode("gzip bill", e))?;
        let text = gzip.get_ref().as_slice();
        self.hasher.update(text);
        self.bytes += text.len() as u64;
        Ok(text)
    }

    pub fn digest(self) -> BillDownload {
        BillDownload {
            bytes: self.bytes,
            sha1: hex::encode(self.hasher.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    /// Feeds `body` in chunks of `size`; returns the text and what was hashed.
    fn run(body: &[u8], size: usize, tar: Option<TarType>) -> Result<(Vec<u8>, BillDownload)> {
        let mut stream = BillStream::new(tar);
        let mut text = Vec::new();
        for chunk in body.chunks(size) {
            text.extend_from_slice(stream.push(chunk)?);
        }
        text.extend_from_slice(stream.finish()?);
        Ok((text, stream.digest()))
    }

    #[test]
    fn the_hash_is_of_the_decompressed_text_whatever_the_chunks() {
        let text = "交易时间,公众账号ID\n`2024-01-01 10:00:00,`wx1\n".repeat(50);
        let sha = hex::encode(Sha1::digest(text.as_bytes()));
        let gz = gzip(text.as_bytes());
        for size in [1, 7, 4096] {
            let (out, d) = run(&gz, size, Some(TarType::Gzip)).unwrap();
            assert_eq!(
                (out.as_slice(), d.sha1.as_str()),
                (text.as_bytes(), sha.as_str())
            );
            assert_eq!(d.bytes, text.len() as u64);
            let (out, d) = run(text.as_bytes(), size, None).unwrap();
            assert_eq!(
                (out.as_slice(), d.sha1.as_str()),
                (text.as_bytes(), sha.as_str())
            );
        }
        // Compressed bytes read as if plain do not hash to the text's SHA1.
        assert_ne!(run(&gz, 4096, None).unwrap().1.sha1, sha);
    }

    #[test]
    fn a_broken_or_cut_gzip_stream_is_an_error() {
        assert!(matches!(
            run(b"not gzip at all", 4, Some(TarType::Gzip)),
            Err(Error::Decode(_))
        ));
        let gz = gzip("`row\n".repeat(10_000).as_bytes());
        let cut = &gz[..gz.len() / 2];
        assert!(matches!(
            run(cut, 512, Some(TarType::Gzip)),
            Err(Error::Decode(_))
        ));
        // Only the trailer (CRC and length) missing.
        let cut = &gz[..gz.len() - 4];
        assert!(matches!(
            run(cut, 512, Some(TarType::Gzip)),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn a_million_row_bill_passes_through_a_chunk_at_a_time() {
        let row = "`2024-03-05 10:15:00,`wxab8acb865bb11234,`1900000109,`0,`,`4200000263202403057700134212,`T20240305001,`oHkLxtx0vUqe18p,`NATIVE,`SUCCESS,`OTHERS,`CNY,`29.90,`0.00,`0,`0,`0.00,`0.00,`,`,`T-shirt,`,`0.18000,`0.60%,`29.90,`0.00,`\n";
        let mut expected = Sha1::new();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..1_000_000u32 {
            let line = row.replace("T20240305001", &format!("T{i:011}"));
            expected.update(line.as_bytes());
            gz.write_all(line.as_bytes()).unwrap();
        }
        let body = gz.finish().unwrap();
        let mut stream = BillStream::new(Some(TarType::Gzip));
        let mut largest = 0;
        for chunk in body.chunks(16 * 1024) {
            largest = largest.max(stream.push(chunk).unwrap().len());
        }
        largest = largest.max(stream.finish().unwrap().len());
        let d = stream.digest();
        assert_eq!(d.sha1, hex::encode(expected.finalize()));
        assert_eq!(d.bytes, 1_000_000 * row.len() as u64);
        // What is held at once is one chunk's text, not the bill (about 270 MB here).
        assert!(largest < 8 * 1024 * 1024, "{largest} bytes held at once");
    }
}
