//! A zip as Alipay's bill downloads are: deflated entries whose names and contents are GBK, the
//! names without the zip UTF-8 flag. Written by hand because zip libraries flag every non-ASCII
//! name as UTF-8.

use std::io::Write;

use encoding_rs::GBK;
use flate2::Compression;
use flate2::write::DeflateEncoder;

/// GBK bytes of `text`. Characters GBK lacks (emoji) become `&#…;`, encoding_rs's replacement.
pub(crate) fn gbk(text: &str) -> Vec<u8> {
    GBK.encode(text).0.into_owned()
}

/// A zip of `entries` (name, GBK content), in that order.
pub(crate) fn zip(entries: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let too_big = || std::io::Error::other("bill too large for a plain zip");
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in entries {
        let name = gbk(name);
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
        deflater.write_all(data)?;
        let packed = deflater.finish()?;
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let mut common = Vec::with_capacity(26);
        common.extend(20u16.to_le_bytes()); // version needed: deflate
        common.extend(0u16.to_le_bytes()); // flags: names are not UTF-8
        common.extend(8u16.to_le_bytes()); // method: deflate
        common.extend(0u16.to_le_bytes()); // time
        common.extend(0x21u16.to_le_bytes()); // date: 1980-01-01
        common.extend(crc32fast::hash(data).to_le_bytes());
        common.extend(
            u32::try_from(packed.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        common.extend(
            u32::try_from(data.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        common.extend(
            u16::try_from(name.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        common.extend(0u16.to_le_bytes()); // extra field length

        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(&common);
        out.extend(&name);
        out.extend(&packed);

        directory.extend(0x0201_4b50u32.to_le_bytes());
        directory.extend(20u16.to_le_bytes()); // version made by
        directory.extend(&common);
        directory.extend(0u16.to_le_bytes()); // comment length
        directory.extend(0u16.to_le_bytes()); // disk
        directory.extend(0u16.to_le_bytes()); // internal attributes
        directory.extend(0u32.to_le_bytes()); // external attributes
        directory.extend(offset.to_le_bytes());
        directory.extend(&name);
    }
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    let directory_at = u32::try_from(out.len()).map_err(|_| too_big())?;
    let directory_len = u32::try_from(directory.len()).map_err(|_| too_big())?;
    out.extend(&directory);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes()); // this disk
    out.extend(0u16.to_le_bytes()); // directory's disk
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(directory_len.to_le_bytes());
    out.extend(directory_at.to_le_bytes());
    out.extend(0u16.to_le_bytes()); // comment length
    Ok(out)
}
